"""API keys are remembered for a short TTL; revocation and role changes made here are seen at
once, those made by another process within the TTL."""

from __future__ import annotations

import pytest

from core.errors import Unauthorized
from core.records import Principal, Role
from core.store.context import ContextStore
from core.store.directory import KEY_TTL_S, Directory, KeyCache
from tests.conftest import TenantFixture


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def directory(store: ContextStore, ticks: Ticks) -> Directory:
    return Directory(store.db, store.clock, KeyCache(ttl_s=KEY_TTL_S, now=ticks))


async def test_a_key_revoked_here_stops_working_at_once(store: ContextStore, tenant: TenantFixture) -> None:
    here = directory(store, Ticks())
    key = await here.create_api_key(tenant.id, tenant.member.user_id)
    assert (await here.authenticate(key)).user_id == tenant.member.user_id  # now remembered

    assert await here.revoke_api_key(key)

    with pytest.raises(Unauthorized):
        await here.authenticate(key)
    assert not await here.revoke_api_key(key)  # already revoked


async def test_a_key_revoked_elsewhere_stops_working_within_the_ttl(
    store: ContextStore, tenant: TenantFixture
) -> None:
    ticks = Ticks()
    here, elsewhere = directory(store, ticks), directory(store, Ticks())
    key = await here.create_api_key(tenant.id, tenant.member.user_id)
    await here.authenticate(key)

    await elsewhere.revoke_api_key(key)
    ticks.now += KEY_TTL_S - 0.1
    assert (await here.authenticate(key)).user_id == tenant.member.user_id  # still remembered
    ticks.now += 0.2

    with pytest.raises(Unauthorized):
        await here.authenticate(key)


async def test_a_role_changed_here_is_seen_at_once(store: ContextStore, tenant: TenantFixture) -> None:
    here = directory(store, Ticks())
    key = await here.create_api_key(tenant.id, tenant.member.user_id)
    assert (await here.authenticate(key)).role is Role.MEMBER

    await here.set_role(tenant.id, tenant.member.user_id, Role.ADMIN)

    assert (await here.authenticate(key)).role is Role.ADMIN


async def test_an_unknown_key_is_not_remembered(store: ContextStore, tenant: TenantFixture) -> None:
    here, elsewhere = directory(store, Ticks()), directory(store, Ticks())
    key = "sb_made_elsewhere"
    with pytest.raises(Unauthorized):
        await here.authenticate(key)

    await elsewhere.create_api_key(tenant.id, tenant.member.user_id, key=key)

    assert (await here.authenticate(key)).user_id == tenant.member.user_id


def test_a_lookup_that_began_before_a_revocation_is_not_kept() -> None:
    cache = KeyCache(now=Ticks())
    began = cache.generation
    cache.forget("some hash")  # a revocation lands while the lookup reads the old row

    cache.put("some hash", _principal(), began)

    assert cache.get("some hash") is None


def test_the_cache_forgets_its_oldest_entry_when_full() -> None:
    cache = KeyCache(size=2, now=Ticks())
    for name in ("a", "b", "c"):
        cache.put(name, _principal(), cache.generation)

    assert [cache.get(n) is not None for n in ("a", "b", "c")] == [False, True, True]


def _principal() -> Principal:
    return Principal(tenant_id="ten_1", user_id="usr_1")
