"""The leak suite at the store and retriever: another tenant, a user outside an allow-list, a
user outside a channel, a scheduled run. Each searches (keyword, dense, hybrid), lists, counts and
fetches by id, and never sees a chunk, a title or a count it may not. The access filter is in the
statement, before ranking and LIMIT: a tenant with 1,000 better-matching chunks does not crowd out
another tenant's one relevant chunk."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text

from core.errors import Conflict
from core.ports import KnowledgeAudience
from core.store.context import ContextStore
from core.store.knowledge import DocumentWrite, NewChunk, channel_of
from knowledge.ingest import IngestReport
from knowledge.reader import content_hash
from knowledge.retriever import MODES
from tests.conftest import TenantFixture, make_tenant
from tests.knowledge.conftest import Kit

SECRET = "Project Zebra merger: codename falcon, price 42 million."
CRAFTED = "Project Zebra merger codename falcon price 42 million"  # matches the secret best


@dataclass
class World:
    a: TenantFixture
    b: TenantFixture
    b_ids: set[int]


async def _add(kit: Kit, tenant_id: str, ns_name: str, source: str, body: str) -> None:
    ns = await kit.store.namespace(tenant_id, ns_name)
    report = IngestReport()
    await kit.ingestor.add_bytes(ns, source, body.encode(), report)
    assert not report.failed, report.failed


@pytest.fixture
async def world(kit: Kit, store: ContextStore, tenant: TenantFixture) -> World:
    a, b = tenant, await make_tenant(store, "beta")
    admin, alice, bob = a.admin.user_id, a.member.user_id, a.other_member.user_id
    s = kit.store
    await s.create_namespace(a.id, "handbook", "tenant", admin)
    await s.create_namespace(a.id, "secrets", "tenant", admin, allow=[f"user:{bob}"])
    await s.create_namespace(a.id, "finance", "tenant", admin, allow=["group:finance"])
    await s.create_namespace(a.id, "alice-notes", "private", alice, owner_id=alice)
    await s.create_namespace(a.id, "ops", "channel", admin, channel="slack:COPS")
    await s.add_group_member(a.id, "finance", bob)
    await _add(
        kit,
        a.id,
        "handbook",
        "handbook.md",
        "# Handbook\n\n## Vacation\n\nVacation requests go to HR via the portal.\n",
    )
    await _add(kit, a.id, "secrets", "merger.md", f"# Merger\n\n{SECRET}\n")
    await _add(
        kit, a.id, "finance", "budget.md", "# Budget\n\nZebra budget for falcon: 42 million approved.\n"
    )
    await _add(
        kit, a.id, "alice-notes", "notes.md", "# Notes\n\nAlice's own zebra notes about the merger rumours.\n"
    )
    await _add(kit, a.id, "ops", "runbook.md", "# Ops\n\nZebra falcon runbook for the ops channel.\n")
    # Tenant B: the same namespace name, and 1,000 chunks that match better than A's one.
    b_ns = await s.create_namespace(b.id, "handbook", "tenant", b.admin.user_id)
    texts = [
        f"Vacation requests go to HR via the portal; vacation portal HR vacation {n}." for n in range(1000)
    ]
    vectors = await kit.embedder.embed(texts)
    chunks = tuple(
        NewChunk(
            n,
            "B handbook > Vacation",
            t,
            content_hash(t.encode()),
            vectors[n].tobytes(),
            kit.embedder.model,
            256,
        )
        for n, t in enumerate(texts)
    )
    await s.commit_document(
        b.id, b_ns.id, DocumentWrite("b-handbook.md", "B handbook", "h", "ready", None, chunks)
    )
    ids = await s.db.read(
        lambda conn: set(
            conn.execute(text("SELECT id FROM knowledge_chunks WHERE tenant_id = :t"), {"t": b.id}).scalars()
        )
    )
    return World(a, b, ids)


def _who(t: TenantFixture, user: str, **kw: object) -> KnowledgeAudience:
    return KnowledgeAudience(t.id, user, **kw)  # type: ignore[arg-type]


async def _sources(kit: Kit, audience: KnowledgeAudience, query: str, mode: str = "hybrid") -> set[str]:
    answer = await kit.retriever.search(audience, query, None, 50, mode)
    return {h.source for h in answer.hits}


@pytest.mark.parametrize("mode", MODES)
async def test_a_crafted_query_never_reaches_a_namespace_outside_the_audience(
    kit: Kit, world: World, mode: str
) -> None:
    a = world.a
    alice = _who(a, a.member.user_id)
    assert await _sources(kit, alice, CRAFTED, mode) <= {"handbook.md", "notes.md"}
    assert "notes.md" in await _sources(kit, alice, CRAFTED, mode)
    bob = _who(a, a.other_member.user_id)
    assert {"merger.md", "budget.md"} <= await _sources(kit, bob, CRAFTED, mode)  # allow-list, group
    assert "notes.md" not in await _sources(kit, bob, CRAFTED, mode)  # alice's private one
    in_channel = _who(a, a.member.user_id, channel="slack:COPS")
    assert "runbook.md" in await _sources(kit, in_channel, CRAFTED, mode)
    assert "runbook.md" not in await _sources(
        kit, _who(a, a.member.user_id, channel="slack:CELSE"), CRAFTED, mode
    )
    scheduled = _who(a, a.other_member.user_id, channel="slack:COPS", proactive=True)
    assert await _sources(kit, scheduled, CRAFTED, mode) <= {"handbook.md"}  # tenant-wide, no allow-list
    other_tenant = _who(world.b, world.b.member.user_id)
    assert await _sources(kit, other_tenant, CRAFTED, mode) <= {"b-handbook.md"}


@pytest.mark.parametrize("mode", MODES)
async def test_a_thousand_better_matches_in_another_tenant_do_not_crowd_out_ones_own(
    kit: Kit, world: World, mode: str
) -> None:
    a = world.a
    answer = await kit.retriever.search(_who(a, a.member.user_id), "vacation portal HR", None, 5, mode)
    assert [h.source for h in answer.hits][:1] == ["handbook.md"]
    assert all(h.source != "b-handbook.md" for h in answer.hits)
    b_answer = await kit.retriever.search(_who(world.b, world.b.member.user_id), CRAFTED, None, 5, mode)
    assert {h.source for h in b_answer.hits} <= {"b-handbook.md"}


async def test_listing_counting_and_fetching_by_id_stay_inside_the_audience(kit: Kit, world: World) -> None:
    a = world.a
    alice = _who(a, a.member.user_id)
    listed = {n.name: (n.documents, n.chunks) for n in await kit.store.visible_namespaces(alice)}
    assert listed == {"handbook": (1, 1), "alice-notes": (1, 1)}
    bob = {n.name for n in await kit.store.visible_namespaces(_who(a, a.other_member.user_id))}
    assert bob == {"handbook", "secrets", "finance"}
    scheduled = {
        n.name for n in await kit.store.visible_namespaces(_who(a, a.member.user_id, proactive=True))
    }
    assert scheduled == {"handbook"}
    b_listed = await kit.store.visible_namespaces(_who(world.b, world.b.member.user_id))
    assert [(n.name, n.chunks) for n in b_listed] == [("handbook", 1000)]

    every_id = await kit.store.db.read(
        lambda conn: list(conn.execute(text("SELECT id FROM knowledge_chunks ORDER BY id")).scalars())
    )
    fetched = await kit.store.hits(alice, every_id)
    assert {h.source for h in fetched} == {"handbook.md", "notes.md"}
    assert await kit.store.hits(alice, sorted(world.b_ids)[:50]) == []
    assert await kit.store.vectors(alice, None, kit.embedder.model, 256) != ([], [])
    ids, _ = await kit.store.vectors(alice, None, kit.embedder.model, 256)
    assert not set(ids) & world.b_ids and len(ids) == 2


async def test_a_bot_limited_to_a_namespace_searches_only_it(kit: Kit, world: World) -> None:
    bob = _who(world.a, world.a.other_member.user_id)
    answer = await kit.retriever.search(bob, CRAFTED, ["handbook"], 10)
    assert {h.namespace for h in answer.hits} <= {"handbook"}
    assert all(not hasattr(h, "score") for h in answer.hits)  # ranks only, never raw scores


async def test_namespace_names_are_unique_per_tenant_only(kit: Kit, world: World) -> None:
    with pytest.raises(Conflict):
        await kit.store.create_namespace(world.a.id, "handbook", "tenant", world.a.admin.user_id)
    assert (await kit.store.namespace(world.b.id, "handbook")).tenant_id == world.b.id


def test_a_channel_namespace_is_named_by_the_sessions_channel() -> None:
    assert channel_of("slack", "C0OPS:1700000000.000100") == "C0OPS"
    assert channel_of("discord", "123456:789") == "123456"
    assert channel_of("teams", "19:abc@thread.tacv2;messageid=17000") == "19:abc@thread.tacv2"
    assert channel_of("teams", "a:1personalchat") == "a:1personalchat"
