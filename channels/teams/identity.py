"""Who is who: an Azure AD tenant is a tenant, an Azure AD object id a product user, and the
configured object ids are admins. Only immutable ids are used, never display names (those are
kept only to name people on cards)."""

from __future__ import annotations

import hashlib
import re

from channels.directory import Tenants, user_name
from channels.teams.profile import SURFACE
from core.ports import Identities
from core.records import Principal, Role

_COMPACT = re.compile(r"^[0-9a-z]{1,34}$")


def tenant_id_for(aad_tenant_id: str) -> str:
    """The tenant GUID without dashes, after "teams-" without dashes (tenant ids are at most 40 characters)."""
    compact = aad_tenant_id.replace("-", "").lower()
    if not _COMPACT.match(compact):
        compact = hashlib.sha256(aad_tenant_id.encode()).hexdigest()[:32]
    return f"teams-{compact}"


class TeamsDirectory:
    def __init__(
        self, identities: Identities, admins: frozenset[str], allowed_tenants: frozenset[str]
    ) -> None:
        self._identities = identities
        self._admins = frozenset(a.lower() for a in admins)
        self._allowed = frozenset(t.lower() for t in allowed_tenants)
        self._tenants = Tenants(identities, SURFACE)

    def allows(self, aad_tenant_id: str) -> bool:
        return not self._allowed or aad_tenant_id.lower() in self._allowed

    async def tenant(self, aad_tenant_id: str) -> str:
        return await self._tenants.ensure(tenant_id_for(aad_tenant_id), f"Teams {aad_tenant_id}")

    async def principal(self, tenant_id: str, user_key: str, display_name: str) -> Principal:
        """The product user behind an Azure AD object id, with the role the admin list gives them."""
        user = await self._identities.resolve_identity(
            tenant_id, SURFACE, user_key, display_name=display_name or f"teams:{user_key}"
        )
        role = Role.ADMIN if user_key.lower() in self._admins else Role.MEMBER
        if user.role is not role:
            await self._identities.set_role(tenant_id, user.id, role)
        return Principal(tenant_id, user.id, role)

    async def name(self, tenant_id: str, user_id: str) -> str:
        """How a card names a product user: the display name they had when we first saw them."""
        return await user_name(self._identities, tenant_id, user_id)
