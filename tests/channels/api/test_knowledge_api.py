"""The knowledge endpoints on a real store: who may create, upload to, list, search and delete
what (members their private namespaces, admins the tenant's), bad uploads reported with why, and
the leak checks over REST: another tenant, a user outside an allow-list and a colleague's private
namespace never show a title, a chunk or a count."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from channels.api import build_api
from core.alerts.desk import AlertDesk
from core.schedules import ScheduleBook
from core.scripted_model import ScriptedModelServer
from core.settings import KnowledgeSettings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.knowledge import KnowledgeStore
from core.store.sessions import SessionHistoryStore
from knowledge.desk import KnowledgeDesk
from knowledge.kit import build_kit
from tests.channels.api.conftest import FunctionModel, GatedModel, Keys, auth, greet, make_keys
from tests.conftest import TenantFixture
from tests.core.engine.harness import engine

SECRET = "# Merger\n\nProject Zebra merger: codename falcon, price 42 million.\n"
CRAFTED = "Project Zebra merger codename falcon price"


@pytest.fixture(scope="module")
def embeddings() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
async def http(
    store: ContextStore, tenant: TenantFixture, embeddings: ScriptedModelServer
) -> AsyncIterator[tuple[httpx.AsyncClient, Keys]]:
    keys = await make_keys(store, tenant)
    kit = build_kit(
        KnowledgeSettings(embeddings_base_url=embeddings.base_url, max_file_bytes=2000),
        KnowledgeStore(store.db, store.clock),
        None,
        None,
    )
    async with engine(store, GatedModel(FunctionModel(greet))) as e:
        app = build_api(
            e.runtime,
            alerts=AlertDesk(e.runtime, AlertStore(store.db, store.clock, {}), store.audit),
            schedules=ScheduleBook(store),
            sessions=SessionHistoryStore(store.db),
            knowledge=KnowledgeDesk(kit),
            max_upload_bytes=2000,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=10) as client:
            yield client, keys
    await kit.aclose()


NS = "/v1/knowledge/namespaces"


async def _upload(client: httpx.AsyncClient, key: str, ns: str, source: str, content: str) -> httpx.Response:
    return await client.put(
        f"{NS}/{ns}/documents", json={"source": source, "content": content}, headers=auth(key)
    )


async def _search(client: httpx.AsyncClient, key: str, query: str = CRAFTED) -> dict[str, object]:
    response = await client.post(
        "/v1/knowledge/search", json={"query": query, "limit": 20}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_rights_uploads_search_and_leaks_over_rest(
    http: tuple[httpx.AsyncClient, Keys], tenant: TenantFixture
) -> None:
    client, keys = http
    # Members make private namespaces only; admins make the tenant's.
    refused = await client.post(NS, json={"name": "handbook", "kind": "tenant"}, headers=auth(keys.member))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    made = await client.post(NS, json={"name": "handbook", "kind": "tenant"}, headers=auth(keys.admin))
    assert made.status_code == 201 and made.json()["kind"] == "tenant"
    secret = {"name": "secrets", "kind": "tenant", "allow": [f"user:{tenant.other_member.user_id}"]}
    assert (await client.post(NS, json=secret, headers=auth(keys.admin))).status_code == 201
    mine = await client.post(NS, json={"name": "alice-notes"}, headers=auth(keys.member))
    assert mine.status_code == 201 and mine.json()["kind"] == "private"
    taken = await client.post(NS, json={"name": "handbook", "kind": "tenant"}, headers=auth(keys.admin))
    assert taken.status_code == 409
    other_tenant = await client.post(NS, json={"name": "handbook"}, headers=auth(keys.stranger))
    assert other_tenant.status_code == 201  # names are unique per tenant only

    up = await _upload(
        client, keys.admin, "handbook", "vacation.md", "# Vacation\n\nAsk HR via the portal.\n"
    )
    assert up.status_code == 200 and up.json()["added"] == ["vacation.md"], up.text
    assert (await _upload(client, keys.admin, "secrets", "merger.md", SECRET)).json()["added"] == [
        "merger.md"
    ]
    note = "# Notes\n\nAlice's own zebra merger notes.\n"
    assert (await _upload(client, keys.member, "alice-notes", "notes.md", note)).status_code == 200
    assert (await _upload(client, keys.member, "handbook", "x.md", "# X\n\nno")).status_code == 403
    assert (await _upload(client, keys.other_member, "alice-notes", "x.md", "# X\n\nno")).status_code == 404
    assert (await _upload(client, keys.stranger, "secrets", "x.md", "# X\n\nno")).status_code == 404
    again = await _upload(
        client, keys.admin, "handbook", "vacation.md", "# Vacation\n\nAsk HR via the portal.\n"
    )
    assert again.json()["unchanged"] == ["vacation.md"]

    # Search, list, count and fetch: each caller sees only what they may.
    alice = await _search(client, keys.member)
    assert {r["source"] for r in alice["results"]} <= {"vacation.md", "notes.md"}  # type: ignore[attr-defined]
    bob = await _search(client, keys.other_member)
    assert "merger.md" in {r["source"] for r in bob["results"]}  # type: ignore[attr-defined]
    assert "notes.md" not in {r["source"] for r in bob["results"]}  # type: ignore[attr-defined]
    stranger = await _search(client, keys.stranger)
    assert stranger["results"] == []
    listed = (await client.get(NS, headers=auth(keys.member))).json()
    assert {n["name"]: n["chunks"] for n in listed["namespaces"]} == {"handbook": 1, "alice-notes": 1}
    assert listed["search"] == "hybrid"
    assert [n["name"] for n in (await client.get(NS, headers=auth(keys.stranger))).json()["namespaces"]] == [
        "handbook"
    ]
    for key in (keys.member, keys.stranger):
        docs = await client.get(f"{NS}/secrets/documents", headers=auth(key))
        assert docs.status_code == 404 and "merger" not in docs.text
    assert (await client.get(f"{NS}/alice-notes/documents", headers=auth(keys.admin))).status_code == 404
    assert (await client.delete(f"{NS}/secrets", headers=auth(keys.member))).status_code == 404
    assert (await client.delete(f"{NS}/handbook", headers=auth(keys.member))).status_code == 403

    # Deletion propagates to search.
    gone = await client.delete(
        f"{NS}/secrets/documents", params={"source": "merger.md"}, headers=auth(keys.admin)
    )
    assert gone.status_code == 204
    assert "merger.md" not in {r["source"] for r in (await _search(client, keys.other_member))["results"]}  # type: ignore[attr-defined]
    assert (await client.delete(f"{NS}/alice-notes", headers=auth(keys.member))).status_code == 204
    assert [n["name"] for n in (await client.get(NS, headers=auth(keys.member))).json()["namespaces"]] == [
        "handbook"
    ]


async def test_bad_uploads_are_clear(http: tuple[httpx.AsyncClient, Keys]) -> None:
    client, keys = http
    assert (
        await client.post(NS, json={"name": "docs", "kind": "tenant"}, headers=auth(keys.admin))
    ).status_code == 201
    put = f"{NS}/docs/documents"
    empty = await client.put(put, json={"source": "empty.md", "content": ""}, headers=auth(keys.admin))
    assert empty.status_code == 200 and empty.json()["failed"] == {"empty.md": "the file is empty"}
    binary = base64.b64encode(b"\x00\x01binary").decode()
    bad = await client.put(put, json={"source": "b.txt", "content_base64": binary}, headers=auth(keys.admin))
    assert bad.json()["failed"] == {"b.txt": "this is a binary file, not text"}
    latin = base64.b64encode("caf\xe9".encode("latin-1")).decode()
    odd = await client.put(put, json={"source": "l.txt", "content_base64": latin}, headers=auth(keys.admin))
    assert odd.json()["failed"]["l.txt"].startswith("the file is not UTF-8 text")
    pdf = base64.b64encode(b"%PDF-1.4 garbage").decode()
    assert (
        (await client.put(put, json={"source": "p.pdf", "content_base64": pdf}, headers=auth(keys.admin)))
        .json()["failed"]["p.pdf"]
        .startswith("the PDF cannot be read")
    )
    big = await client.put(put, json={"source": "big.md", "content": "x" * 3000}, headers=auth(keys.admin))
    assert big.json()["failed"] == {"big.md": "the file is 3.0 kB, over the 2.0 kB cap"}
    huge = await client.put(put, json={"source": "huge.md", "content": "x" * 9000}, headers=auth(keys.admin))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    exe = await client.put(put, json={"source": "tool.exe", "content": "MZ"}, headers=auth(keys.admin))
    assert exe.status_code == 422
    both = await client.put(
        put, json={"source": "a.md", "content": "x", "content_base64": "eA=="}, headers=auth(keys.admin)
    )
    assert both.status_code == 422
    nobase = await client.put(put, json={"source": "a.md", "content_base64": "%%%"}, headers=auth(keys.admin))
    assert nobase.status_code == 422 and "base64" in nobase.json()["error"]["message"]
    docs = (await client.get(put, headers=auth(keys.admin))).json()["documents"]
    assert {d["source"]: d["status"] for d in docs} == {
        "empty.md": "failed",
        "b.txt": "failed",
        "l.txt": "failed",
        "p.pdf": "failed",
        "big.md": "failed",
    }
    assert all(d["chunks"] == 0 and d["error"] for d in docs)
