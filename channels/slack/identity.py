"""Who is who: a Slack workspace is a tenant, a Slack user id a product user, and the workspace's
configured admins (user ids, optionally a user group) are admins.

Only immutable ids are used, never display names. Lookups are cached briefly: an event's ack
must stay in milliseconds, and an admin list change reaches everyone within `ttl_s`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.directory import Tenants, user_name
from channels.slack.mrkdwn import escape
from channels.slack.profile import SURFACE
from core.ports import Identities
from core.records import Principal, Role

log = logging.getLogger(__name__)


def tenant_id_for(team_id: str | None, enterprise_id: str | None, is_enterprise_install: bool) -> str:
    """An org-wide (Enterprise Grid) install is one tenant; otherwise each workspace is."""
    key = enterprise_id if is_enterprise_install and enterprise_id else team_id
    if not key:
        raise ValueError("a Slack request without a team or enterprise id")
    return f"slack-{key}"


@dataclass(frozen=True)
class AdminPolicy:
    users: frozenset[str] = frozenset()
    user_group: str | None = None


class SlackDirectory:
    def __init__(
        self,
        identities: Identities,
        client: AsyncWebClient,
        admins: AdminPolicy,
        *,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._identities = identities
        self._client = client
        self._admins = admins
        self._ttl_s = ttl_s
        self._clock = clock
        self._tenants = Tenants(identities, SURFACE)
        self._people: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._group: tuple[float, frozenset[str]] | None = None

    async def tenant(
        self, team_id: str | None, enterprise_id: str | None, is_enterprise_install: bool
    ) -> str:
        tenant_id = tenant_id_for(team_id, enterprise_id, is_enterprise_install)
        return await self._tenants.ensure(tenant_id, f"Slack {tenant_id[6:]}")

    async def principal(self, tenant_id: str, slack_user: str) -> Principal:
        """The product user behind a Slack user id, with the role the admin list gives them."""
        cached = self._people.get((tenant_id, slack_user))
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        user = await self._identities.resolve_identity(
            tenant_id, SURFACE, slack_user, display_name=f"slack:{slack_user}"
        )
        role = Role.ADMIN if await self._is_admin(slack_user) else Role.MEMBER
        if user.role is not role:
            await self._identities.set_role(tenant_id, user.id, role)
        who = Principal(tenant_id, user.id, role)
        self._people[(tenant_id, slack_user)] = (self._clock(), who)
        return who

    async def mention(self, tenant_id: str, user_id: str) -> str:
        """How to name a product user in a message: `<@U…>` if they came from Slack."""
        slack_user = await self._identities.external_id(tenant_id, SURFACE, user_id)
        if slack_user is not None:
            return f"<@{slack_user}>"
        return escape(await user_name(self._identities, tenant_id, user_id))

    async def _is_admin(self, slack_user: str) -> bool:
        if slack_user in self._admins.users:
            return True
        return slack_user in await self._group_members()

    async def _group_members(self) -> frozenset[str]:
        group = self._admins.user_group
        if group is None:
            return frozenset()
        if self._group is not None and self._clock() - self._group[0] < self._ttl_s:
            return self._group[1]
        try:
            response = await self._client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            log.warning("cannot read the admin user group %s: %s", group, exc.response.get("error"))
            members = self._group[1] if self._group is not None else frozenset()
        self._group = (self._clock(), members)
        return members
