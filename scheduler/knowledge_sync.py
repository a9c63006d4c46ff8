"""The fire handler for schedules of kind "knowledge_sync": re-sync a namespace from a folder on
the server, the same incremental, crash-safe ingestion as `switchboard knowledge sync`.

Params: {"namespace": "runbooks", "folder": "/srv/runbooks/ops", "prefix": "ops"} (prefix: the
documents' source prefix, default the folder's name, as the CLI's). Only an admin may create one
(`ADMIN_KINDS`), and only for a folder under the deployment's sync roots; the fire checks the
roots again (they may have changed since) and skips files that are symlinks out of the folder.

The scheduler claims each fire once. A fire retaken after a crash syncs again, which finds what
the first attempt wrote unchanged: no duplicate, no orphan. The outcome (documents added, updated,
removed, failed, unchanged) is audited as "knowledge.synced" with the schedule and fire time; a
fire that cannot sync at all (root no longer allowed, namespace gone) fails with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from core.errors import InvalidInput, NotFound
from core.store.audit import AuditStore
from core.store.knowledge import KnowledgeStore
from knowledge.desk import NAME
from knowledge.ingest import Ingestor
from knowledge.roots import allowed_folder
from scheduler.ports import Schedule

log = logging.getLogger(__name__)
KIND = "knowledge_sync"
ADMIN_KINDS = frozenset({KIND})
MAX_FAILURES_AUDITED = 20


@dataclass(frozen=True)
class SyncSpec:
    namespace: str
    folder: str
    prefix: str

    @classmethod
    def parse(cls, params: dict[str, Any]) -> SyncSpec:
        unknown = set(params) - {"namespace", "folder", "prefix"}
        if unknown:
            raise InvalidInput(f"unknown knowledge_sync params: {', '.join(sorted(unknown))}")
        namespace, folder, prefix = params.get("namespace"), params.get("folder"), params.get("prefix")
        if not isinstance(namespace, str) or not NAME.match(namespace):
            raise InvalidInput("knowledge_sync needs params.namespace, a namespace name")
        if not isinstance(folder, str) or not folder:
            raise InvalidInput("knowledge_sync needs params.folder, an absolute path under a sync root")
        if prefix is not None and (not isinstance(prefix, str) or not prefix.strip() or len(prefix) > 200):
            raise InvalidInput("params.prefix must be 1-200 characters")
        return cls(namespace, folder, prefix or PurePosixPath(folder.rstrip("/")).name or "root")


def sync_rules(roots: Sequence[str]) -> Any:
    """The kind's params rule for the schedule book: the shape, and the folder under a root."""

    def check(params: dict[str, Any]) -> SyncSpec:
        spec = SyncSpec.parse(params)
        allowed_folder(roots, spec.folder)
        return spec

    return check


class KnowledgeSyncHandler:
    def __init__(
        self, store: KnowledgeStore, ingestor: Ingestor, audit: AuditStore, roots: Sequence[str]
    ) -> None:
        self._store = store
        self._ingestor = ingestor
        self._audit = audit
        self._roots = tuple(roots)

    async def fire(self, schedule: Schedule, fire_at: datetime) -> None:
        spec = SyncSpec.parse(schedule.params)
        folder = allowed_folder(self._roots, spec.folder)
        try:
            namespace = await self._store.namespace(schedule.tenant_id, spec.namespace)
        except NotFound:
            raise InvalidInput(f"no namespace named {spec.namespace!r}") from None
        report = await self._ingestor.sync_folder(namespace, folder, prefix=spec.prefix, within=folder)
        failed = dict(sorted(report.failed.items())[:MAX_FAILURES_AUDITED])
        detail = {
            "schedule_id": schedule.id,
            "fire_at": fire_at.timestamp(),
            "namespace": spec.namespace,
            "added": len(report.added),
            "updated": len(report.updated),
            "removed": len(report.removed),
            "failed": len(report.failed),
            "unchanged": len(report.unchanged),
            "failures": failed,
            "embeddings_error": report.embeddings_error,
        }
        await self._audit.record(
            schedule.tenant_id, "knowledge.synced", actor_user_id=schedule.owner_id, detail=detail
        )
        log.info(
            "knowledge synced",
            extra={"schedule_id": schedule.id, "tenant_id": schedule.tenant_id, "kind": KIND},
        )
