"""Groups over REST (SQLite and PostgreSQL): an admin adds and removes users of the tenant, and an
allow-list's "group:<name>" follows at once; members may not; another tenant's admin meets 404s
that say nothing of whether the user or group exists."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from channels.api import build_api
from core.alerts.desk import AlertDesk
from core.schedules import ScheduleBook
from core.settings import KnowledgeSettings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.knowledge import KnowledgeStore
from core.store.sessions import SessionHistoryStore
from knowledge.desk import KnowledgeDesk
from knowledge.kit import build_kit
from tests.channels.api.conftest import FunctionModel, GatedModel, auth, greet
from tests.conftest import TenantFixture, make_tenant
from tests.core.engine.harness import engine

NS = "/v1/knowledge/namespaces"
GROUPS = "/v1/knowledge/groups"


@pytest.fixture
async def client(store: ContextStore) -> AsyncIterator[httpx.AsyncClient]:
    kit = build_kit(KnowledgeSettings(keyword_only=True), KnowledgeStore(store.db, store.clock), None, None)
    async with engine(store, GatedModel(FunctionModel(greet))) as e:
        app = build_api(
            e.runtime,
            alerts=AlertDesk(e.runtime, AlertStore(store.db, store.clock, {}), store.audit),
            schedules=ScheduleBook(store),
            sessions=SessionHistoryStore(store.db),
            knowledge=KnowledgeDesk(kit),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=10) as c:
            yield c
    await kit.aclose()


async def test_groups_make_group_allow_lists_usable_and_never_cross_tenants(
    client: httpx.AsyncClient, store: ContextStore, tenant: TenantFixture
) -> None:
    key = store.directory.create_api_key
    admin, alice = await key(tenant.id, tenant.admin.user_id), await key(tenant.id, tenant.member.user_id)
    globex = await make_tenant(store, "globex")
    their_admin = await key(globex.id, globex.admin.user_id)
    alice_id = tenant.member.user_id

    body = {"name": "oncall-book", "kind": "tenant", "allow": ["group:oncall"]}
    assert (await client.post(NS, json=body, headers=auth(admin))).status_code == 201
    doc = {"source": "pager.md", "content": "# Pager\n\nThe pager rotation starts on Monday.\n"}
    up = await client.put(f"{NS}/oncall-book/documents", json=doc, headers=auth(admin))
    assert up.json()["added"] == ["pager.md"], up.text

    async def alice_finds() -> list[str]:
        found = await client.post(
            "/v1/knowledge/search", json={"query": "pager rotation"}, headers=auth(alice)
        )
        return [r["source"] for r in found.json()["results"]]

    assert await alice_finds() == []
    member = f"{GROUPS}/oncall/members/{alice_id}"
    assert (await client.put(member, headers=auth(alice))).status_code == 403  # members may not
    assert (await client.get(GROUPS, headers=auth(alice))).status_code == 403
    assert (await client.put(member, headers=auth(admin))).status_code == 204
    assert (await client.put(member, headers=auth(admin))).status_code == 204  # idempotent
    assert await alice_finds() == ["pager.md"]
    listed = await client.get(GROUPS, headers=auth(admin))
    assert listed.json() == {"groups": [{"name": "oncall", "members": [alice_id]}]}

    # Another tenant's admin: alice is nobody there, and the group is theirs to fill, not ours.
    crossed = await client.put(member, headers=auth(their_admin))
    nobody = await client.put(f"{GROUPS}/oncall/members/usr_nobody", headers=auth(their_admin))
    assert crossed.status_code == nobody.status_code == 404
    assert crossed.json()["error"]["code"] == nobody.json()["error"]["code"] == "not_found"
    assert (await client.delete(member, headers=auth(their_admin))).status_code == 404
    assert (await client.get(GROUPS, headers=auth(their_admin))).json() == {"groups": []}
    assert await alice_finds() == ["pager.md"]  # untouched

    bad = await client.put(f"{GROUPS}/{'x' * 101}/members/{alice_id}", headers=auth(admin))
    assert bad.status_code == 422
    assert (await client.delete(member, headers=auth(admin))).status_code == 204
    assert await alice_finds() == []
    assert (await client.delete(member, headers=auth(admin))).status_code == 404
    assert (await client.get(GROUPS, headers=auth(admin))).json() == {"groups": []}
