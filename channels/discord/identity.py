"""Who is who: a Discord guild (server) is a tenant, a Discord user id a product user, and the
configured admins (user ids, and members holding the admin role) are admins.

DMs happen outside any guild, so they belong to one configured guild's tenant (`dm_guild`);
without it, DMs are refused politely. In a DM the member's roles are unknown: only the admin
user list can change someone's role there, otherwise the role last seen in the guild stands.
Only immutable ids are used, never display names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from channels.directory import Tenants, user_name
from channels.discord.markup import neutralise
from channels.discord.profile import SURFACE
from core.errors import InvalidInput
from core.ports import Identities
from core.records import Principal, Role


def tenant_id_for(guild_id: str) -> str:
    return f"discord-{guild_id}"


@dataclass(frozen=True)
class AdminPolicy:
    users: frozenset[str] = frozenset()
    role: str | None = None  # a role id whose members are admins

    def role_of(self, user: str, roles: frozenset[str] | None) -> Role | None:
        """The role these facts give; None when they do not say (a DM, no admin role held there)."""
        if user in self.users:
            return Role.ADMIN
        if roles is None:
            return None
        return Role.ADMIN if self.role is not None and self.role in roles else Role.MEMBER


class DiscordDirectory:
    def __init__(
        self,
        identities: Identities,
        admins: AdminPolicy,
        dm_guild: str | None = None,
        *,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._identities = identities
        self._admins = admins
        self._dm_guild = dm_guild
        self._ttl_s = ttl_s
        self._clock = clock
        self._tenants = Tenants(identities, SURFACE)
        self._people: dict[tuple[str, str], tuple[float, Principal]] = {}

    async def tenant(self, guild_id: str | None) -> str:
        """The tenant of a guild, or of the DM guild for a message outside any guild."""
        guild = guild_id or self._dm_guild
        if not guild:
            raise InvalidInput("DMs are not set up here: mention me in a server channel instead")
        return await self._tenants.ensure(tenant_id_for(guild), f"Discord {guild}")

    async def principal(self, tenant_id: str, discord_user: str, roles: frozenset[str] | None) -> Principal:
        """The product user behind a Discord user id, with the role the admin policy gives them.
        `roles`: the member's role ids in the guild, None where they are not known (a DM)."""
        told = self._admins.role_of(discord_user, roles)
        cached = self._people.get((tenant_id, discord_user))
        fresh = cached is not None and self._clock() - cached[0] < self._ttl_s
        if cached is not None and fresh and told in (None, cached[1].role):
            return cached[1]
        user = await self._identities.resolve_identity(
            tenant_id, SURFACE, discord_user, display_name=f"discord:{discord_user}"
        )
        role = told or user.role
        if user.role is not role:
            await self._identities.set_role(tenant_id, user.id, role)
        who = Principal(tenant_id, user.id, role)
        self._people[(tenant_id, discord_user)] = (self._clock(), who)
        return who

    async def mention(self, tenant_id: str, user_id: str) -> str:
        """How to name a product user in a message: `<@id>` if they came from Discord (it never
        pings: every message is sent with no mentions allowed)."""
        discord_user = await self._identities.external_id(tenant_id, SURFACE, user_id)
        if discord_user is not None:
            return f"<@{discord_user}>"
        return neutralise(await user_name(self._identities, tenant_id, user_id))
