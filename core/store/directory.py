"""Tenants, users, channel identities and API keys.

A surface's user id (a Slack `U…`, a Discord snowflake) is never a product user id: it maps to
one through `identities`, inside one tenant.

Every API request is authenticated, so a key's principal is remembered for `KEY_TTL_S` (by the
key's hash, never the key). Revoking a key or changing a role through this directory forgets
the entries at once; a change made by another process (or by hand in SQL) is seen within the
TTL. Unknown keys are not remembered: a key created elsewhere works at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.errors import NotFound, Unauthorized
from core.ids import new_id
from core.records import Principal, Role, User
from core.store.database import Database
from core.store.schema import api_keys, identities, tenants, users

KEY_TTL_S = 5.0  # the longest a key revoked (or a role changed) in another process keeps working
KEY_CACHE_SIZE = 10_000


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# Built once: every API request is authenticated, and building the statement cost more than running it.
_BY_KEY_HASH = (
    select(api_keys.c.tenant_id, api_keys.c.user_id, users.c.role)
    .join(users, users.c.id == api_keys.c.user_id)
    .where(api_keys.c.key_hash == bindparam("b_hash"), api_keys.c.revoked_at.is_(None))
)


_REVOKE = (
    update(api_keys)
    .where(api_keys.c.key_hash == bindparam("b_hash"), api_keys.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("b_at"))
)


class KeyCache:
    """Principals by key hash, each for `ttl_s` on a monotonic clock; the oldest go first when full."""

    def __init__(
        self, ttl_s: float = KEY_TTL_S, size: int = KEY_CACHE_SIZE, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._size = size
        self._now = now
        self._entries: dict[str, tuple[float, Principal]] = {}
        self.generation = 0  # bumped by every forget: a lookup that began before one is not kept

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[0] <= self._now():
            self._entries.pop(key_hash, None)
            return None
        return entry[1]

    def put(self, key_hash: str, who: Principal, generation: int) -> None:
        if generation != self.generation:
            return
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key_hash] = (self._now() + self._ttl_s, who)

    def forget(self, key_hash: str) -> None:
        self.generation += 1
        self._entries.pop(key_hash, None)

    def forget_user(self, tenant_id: str, user_id: str) -> None:
        self.generation += 1
        stale = [
            h for h, (_, who) in self._entries.items() if (who.tenant_id, who.user_id) == (tenant_id, user_id)
        ]
        for key_hash in stale:
            del self._entries[key_hash]


class Directory:
    def __init__(self, db: Database, clock: Clock, keys: KeyCache | None = None) -> None:
        self._db = db
        self._clock = clock
        self._keys = keys or KeyCache()

    async def create_tenant(self, name: str, *, tenant_id: str | None = None) -> str:
        tenant_id = tenant_id or new_id("ten")
        await self._db.run(
            lambda conn: conn.execute(
                insert(tenants).values(id=tenant_id, name=name, created_at=self._clock.now())
            )
        )
        return tenant_id

    async def tenant_exists(self, tenant_id: str) -> bool:
        row = await self._db.run(
            lambda conn: conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id)).first()
        )
        return row is not None

    async def create_user(
        self, tenant_id: str, name: str, role: Role = Role.MEMBER, *, user_id: str | None = None
    ) -> User:
        user = User(id=user_id or new_id("usr"), tenant_id=tenant_id, name=name, role=role)
        await self._db.run(
            lambda conn: conn.execute(
                insert(users).values(
                    id=user.id, tenant_id=tenant_id, name=name, role=role.value, created_at=self._clock.now()
                )
            )
        )
        return user

    async def get_user(self, tenant_id: str, user_id: str) -> User:
        stmt = select(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            raise NotFound("no such user")
        return User(id=row.id, tenant_id=row.tenant_id, name=row.name, role=Role(row.role))

    async def set_role(self, tenant_id: str, user_id: str, role: Role) -> None:
        """Surfaces keep roles in step with their own admin lists (a workspace's admins, say)."""
        await self._db.run(
            lambda conn: conn.execute(
                update(users)
                .where(users.c.tenant_id == tenant_id, users.c.id == user_id)
                .values(role=role.value)
            )
        )
        self._keys.forget_user(tenant_id, user_id)

    async def external_id(self, tenant_id: str, surface: str, user_id: str) -> str | None:
        """A product user's id on a surface (to mention them there), if they came from it."""
        stmt = select(identities.c.external_id).where(
            identities.c.tenant_id == tenant_id,
            identities.c.surface == surface,
            identities.c.user_id == user_id,
        )
        found: str | None = await self._db.run(lambda conn: conn.execute(stmt).scalar_one_or_none())
        return found

    async def resolve_identity(
        self, tenant_id: str, surface: str, external_id: str, *, display_name: str = ""
    ) -> User:
        """The product user behind a surface identity, created on first sight as a member."""
        found = await self._find_identity(tenant_id, surface, external_id)
        if found is not None:
            return found
        user = await self.create_user(tenant_id, display_name or f"{surface}:{external_id}")
        # Another request may link this identity first; theirs wins, ours stays unused.
        with contextlib.suppress(IntegrityError):
            await self._db.run(
                lambda conn: conn.execute(
                    insert(identities).values(
                        id=new_id("idn"),
                        tenant_id=tenant_id,
                        surface=surface,
                        external_id=external_id,
                        user_id=user.id,
                    )
                )
            )
        found = await self._find_identity(tenant_id, surface, external_id)
        assert found is not None
        return found

    async def _find_identity(self, tenant_id: str, surface: str, external_id: str) -> User | None:
        stmt = (
            select(users)
            .join(identities, identities.c.user_id == users.c.id)
            .where(
                identities.c.tenant_id == tenant_id,
                identities.c.surface == surface,
                identities.c.external_id == external_id,
            )
        )
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            return None
        return User(id=row.id, tenant_id=row.tenant_id, name=row.name, role=Role(row.role))

    async def create_api_key(
        self, tenant_id: str, user_id: str, name: str = "default", *, key: str | None = None
    ) -> str:
        """Returns the key in clear text; only its hash is stored."""
        key = key or "sb_" + secrets.token_urlsafe(32)
        await self._db.run(
            lambda conn: conn.execute(
                insert(api_keys).values(
                    id=new_id("key"),
                    tenant_id=tenant_id,
                    user_id=user_id,
                    key_hash=hash_key(key),
                    name=name,
                    created_at=self._clock.now(),
                )
            )
        )
        return key

    async def revoke_api_key(self, key: str) -> bool:
        """True if the key was live. It stops working here at once, elsewhere within `KEY_TTL_S`."""
        key_hash = hash_key(key)
        params = {"b_hash": key_hash, "b_at": self._clock.now()}
        try:
            revoked: int = await self._db.run(lambda conn: conn.execute(_REVOKE, params).rowcount)
        finally:
            self._keys.forget(key_hash)
        return revoked > 0

    async def authenticate(self, key: str) -> Principal:
        key_hash = hash_key(key)
        if (known := self._keys.get(key_hash)) is not None:
            return known
        params, generation = {"b_hash": key_hash}, self._keys.generation
        row = await self._db.read(lambda conn: conn.execute(_BY_KEY_HASH, params).first())
        if row is None:
            raise Unauthorized("unknown or revoked API key")
        who = Principal(tenant_id=row.tenant_id, user_id=row.user_id, role=Role(row.role))
        self._keys.put(key_hash, who, generation)
        return who
