"""The demo tenant a newcomer meets: a customer and an admin, with well-known local API keys.

Seeded only into an empty database while the offline demo model is in use, so a real deployment
never carries these keys unless someone asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFound, Unauthorized
from core.records import Principal, Role
from core.schedule_records import Schedule
from core.store.context import ContextStore
from scheduler.anomaly.demo import ensure_demo_check

DEMO_TENANT = "demo"
CUSTOMER_KEY = "demo-customer-key"
ADMIN_KEY = "demo-admin-key"


@dataclass(frozen=True)
class DemoKeys:
    customer: str = CUSTOMER_KEY
    admin: str = ADMIN_KEY


async def ensure_demo_tenant(store: ContextStore) -> DemoKeys:
    """Each piece is made only if it is missing: a `demo` tenant created by hand before (with
    `switchboard keys --tenant demo`, say) is completed rather than failing start-up."""
    if not await store.directory.tenant_exists(DEMO_TENANT):
        await store.directory.create_tenant("Demo shop", tenant_id=DEMO_TENANT)
    for user_id, name, role, key in _DEMO_PEOPLE:
        await _ensure_user(store, user_id, name, role)
        if await demo_principal(store, key) is None:
            await store.directory.create_api_key(DEMO_TENANT, user_id, f"demo {name}", key=key)
    return DemoKeys()


_DEMO_PEOPLE = (
    ("demo-alice", "alice", Role.MEMBER, CUSTOMER_KEY),
    ("demo-admin", "admin", Role.ADMIN, ADMIN_KEY),
)


async def _ensure_user(store: ContextStore, user_id: str, name: str, role: Role) -> None:
    try:
        await store.directory.get_user(DEMO_TENANT, user_id)
    except NotFound:
        await store.directory.create_user(DEMO_TENANT, name, role, user_id=user_id)


async def ensure_demo_alerts(store: ContextStore, channel: str) -> Schedule:
    """The anomaly demo: a latency series with one spike and the check that watches it (run by
    the ops bot's schedule), so the demo raises exactly one alert in `channel`. Returns the check."""
    target = {"surface": "slack", "channel": channel}
    return await ensure_demo_check(
        store, DEMO_TENANT, "demo-admin", bot="ops", target=target, now=store.clock.now()
    )


async def demo_principal(store: ContextStore, key: str = CUSTOMER_KEY) -> Principal | None:
    try:
        return await store.directory.authenticate(key)
    except Unauthorized:
        return None
