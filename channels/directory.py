"""The parts of a surface's directory (`channels/<surface>/identity.py`) that do not depend on
the platform: a workspace's tenant created on first sight, and a product user's name."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from core.errors import NotFound
from core.ports import Identities

log = logging.getLogger(__name__)


class Tenants:
    """The tenants of one surface's workspaces, each created the first time one is seen."""

    def __init__(self, identities: Identities, surface: str) -> None:
        self._identities = identities
        self._surface = surface
        self._known: set[str] = set()  # exist in the store: no need to ask again

    async def ensure(self, tenant_id: str, name: str) -> str:
        if tenant_id in self._known:
            return tenant_id
        if not await self._identities.tenant_exists(tenant_id):
            try:
                await self._identities.create_tenant(name, tenant_id=tenant_id)
                log.info("new tenant", extra={"tenant": tenant_id, "surface": self._surface})
            except IntegrityError:  # another request created it first
                pass
        self._known.add(tenant_id)
        return tenant_id


async def user_name(identities: Identities, tenant_id: str, user_id: str) -> str:
    """A product user's display name, as plain text; "someone" for a user that is gone."""
    try:
        return (await identities.get_user(tenant_id, user_id)).name
    except NotFound:
        return "someone"
