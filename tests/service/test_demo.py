"""The demo tenant is seeded piece by piece, so a `demo` tenant someone created first (with
`switchboard keys --tenant demo …`) gets its missing users and keys instead of failing start-up."""

from __future__ import annotations

from core.records import Role
from core.store.context import ContextStore
from service.demo import ADMIN_KEY, CUSTOMER_KEY, DEMO_TENANT, ensure_demo_alerts, ensure_demo_tenant


async def test_a_demo_tenant_made_by_hand_is_completed(store: ContextStore) -> None:
    await store.directory.create_tenant(DEMO_TENANT, tenant_id=DEMO_TENANT)
    someone = await store.directory.create_user(DEMO_TENANT, "someone", Role.MEMBER)
    await store.directory.create_api_key(DEMO_TENANT, someone.id, "cli: someone")

    await ensure_demo_tenant(store)
    check = await ensure_demo_alerts(store, "C-ALERTS")

    admin = await store.directory.authenticate(ADMIN_KEY)
    customer = await store.directory.authenticate(CUSTOMER_KEY)
    assert (admin.tenant_id, admin.role) == (DEMO_TENANT, Role.ADMIN)
    assert (customer.tenant_id, customer.role) == (DEMO_TENANT, Role.MEMBER)
    assert check.tenant_id == DEMO_TENANT


async def test_seeding_twice_changes_nothing(store: ContextStore) -> None:
    await ensure_demo_tenant(store)
    await ensure_demo_tenant(store)
    assert (await store.directory.authenticate(CUSTOMER_KEY)).user_id == "demo-alice"
