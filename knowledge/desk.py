"""People's verbs on knowledge, with who may do what: every member lists and searches what they
may see and owns one private namespace per name they make; admins manage the tenant's tenant-wide
and channel namespaces. A namespace the caller may neither see nor manage is a 404, like any other
tenant's item. The REST routes (channels/api/routes_knowledge.py) call these."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core.errors import Forbidden, InvalidInput, NotFound
from core.ports import KnowledgeAnswer, KnowledgeAudience
from core.records import Principal
from core.store.knowledge import Namespace
from knowledge.ingest import IngestReport
from knowledge.kit import KnowledgeKit
from knowledge.reader import format_of

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# Any name an allow-list's "group:<name>" can hold: no control characters, at most 100.
GROUP = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,100}$")


def audience(who: Principal) -> KnowledgeAudience:
    return KnowledgeAudience(who.tenant_id, who.user_id)


def namespace_view(ns: Namespace) -> dict[str, Any]:
    return {
        "name": ns.name, "kind": ns.kind, "channel": ns.channel, "documents": ns.documents, "chunks": ns.chunks,
    }  # fmt: skip


class KnowledgeDesk:
    def __init__(self, kit: KnowledgeKit) -> None:
        self._kit = kit

    @property
    def dense(self) -> bool:
        return self._kit.retriever.dense

    async def namespaces(self, who: Principal) -> list[dict[str, Any]]:
        return [namespace_view(ns) for ns in await self._kit.store.visible_namespaces(audience(who))]

    async def create(
        self, who: Principal, name: str, kind: str, channel: str | None, allow: Sequence[str]
    ) -> dict[str, Any]:
        if not NAME.match(name):
            raise InvalidInput(
                "a namespace name is 1-40 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
            )
        if kind != "private" and not who.is_admin:
            raise Forbidden(f"only an admin may create a {kind} namespace; anyone may create a private one")
        owner = who.user_id if kind == "private" else None
        ns = await self._kit.store.create_namespace(
            who.tenant_id, name, kind, who.user_id, owner_id=owner, channel=channel, allow=allow
        )
        return namespace_view(ns)

    async def delete(self, who: Principal, name: str) -> None:
        ns = await self._managed(who, name)
        await self._kit.store.delete_namespace(who.tenant_id, ns.name)

    async def documents(self, who: Principal, name: str) -> list[dict[str, Any]]:
        ns = await self._readable(who, name)
        return [
            {
                "source": d.source, "title": d.title, "status": d.status, "error": d.error,
                "chunks": d.chunk_count, "updated_at": d.updated_at,
            }
            for d in await self._kit.store.documents(who.tenant_id, ns.id)
        ]  # fmt: skip

    async def upload(self, who: Principal, name: str, source: str, data: bytes) -> dict[str, Any]:
        ns = await self._managed(who, name)
        if format_of(source) is None:
            raise InvalidInput(
                f"source {source!r}: its name must end in .md, .markdown, .txt, .rst, .html, .htm or .pdf"
            )
        report = IngestReport()
        await self._kit.ingestor.add_bytes(ns, source, data, report)
        return report.as_json()

    async def remove(self, who: Principal, name: str, source: str) -> None:
        ns = await self._managed(who, name)
        if not await self._kit.store.remove_document(who.tenant_id, ns.id, source):
            raise NotFound(f"no document {source!r} in {name!r}")

    async def search(
        self, who: Principal, query: str, namespaces: Sequence[str] | None, limit: int
    ) -> KnowledgeAnswer:
        return await self._kit.retriever.search(audience(who), query, namespaces, limit)

    # --- groups: who an allow-list's "group:<name>" names; an admin's to manage ---------------

    async def groups(self, who: Principal) -> list[dict[str, Any]]:
        _admin(who, "see the groups")
        found = await self._kit.store.groups(who.tenant_id)
        return [{"name": name, "members": members} for name, members in found.items()]

    async def add_member(self, who: Principal, group: str, user_id: str) -> None:
        _admin(who, "change a group")
        _group_name(group)
        if not await self._kit.store.user_in_tenant(who.tenant_id, user_id):
            raise NotFound(f"no user {user_id}")  # another tenant's user does not exist here
        await self._kit.store.add_group_member(who.tenant_id, group, user_id)

    async def remove_member(self, who: Principal, group: str, user_id: str) -> None:
        _admin(who, "change a group")
        if not await self._kit.store.remove_group_member(who.tenant_id, group, user_id):
            raise NotFound(f"no user {user_id} in group {group!r}")

    async def _readable(self, who: Principal, name: str) -> Namespace:
        visible = {ns.name for ns in await self._kit.store.visible_namespaces(audience(who))}
        if name in visible:
            return await self._kit.store.namespace(who.tenant_id, name)
        return await self._managed(who, name)

    async def _managed(self, who: Principal, name: str) -> Namespace:
        """The namespace, if `who` may change it: its owner for a private one, an admin otherwise."""
        try:
            ns = await self._kit.store.namespace(who.tenant_id, name)
        except NotFound:
            raise NotFound(f"no namespace named {name!r}") from None
        if ns.kind == "private":
            if ns.owner_id != who.user_id:
                raise NotFound(f"no namespace named {name!r}")  # another's private one does not exist
            return ns
        if not who.is_admin:
            visible = {v.name for v in await self._kit.store.visible_namespaces(audience(who))}
            if name not in visible:
                raise NotFound(f"no namespace named {name!r}")
            raise Forbidden(f"only an admin may change the {ns.kind} namespace {name!r}")
        return ns


def _admin(who: Principal, to: str) -> None:
    if not who.is_admin:
        raise Forbidden(f"only an admin may {to}")


def _group_name(group: str) -> None:
    if not GROUP.match(group):
        raise InvalidInput("a group name is 1-100 characters, none of them control characters")
