"""Knowledge in the context store: namespaces and their allow-lists, documents, chunks, and the
access-filtered searches over them. Every read takes the tenant.

The access filter is one SQL fragment (`_VISIBLE`), put in every statement that reads chunks,
documents or namespaces for an audience, before any ranking or LIMIT: the chunk's tenant, and a
namespace the audience may see (tenant-wide; the run's channel's; the user's own private one; and,
when the namespace has an allow-list, only if it names the user or one of their groups). A
proactive run sees only tenant-wide namespaces without an allow-list.

A document's chunks are replaced in the transaction that records its status, so a crash leaves
either the old chunks or the new ones, never a mix or a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update

from core.clock import Clock
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import new_id
from core.ports import KnowledgeAudience, KnowledgeHit
from core.store.database import Database
from core.store.schema import (
    knowledge_acl,
    knowledge_chunks,
    knowledge_documents,
    knowledge_group_members,
    knowledge_namespaces,
    runs,
    schedule_fires,
    users,
)
from core.store.sql import insert_ignore

KINDS = ("tenant", "channel", "private")

# The namespaces an audience may see, as a condition on `n` (knowledge_namespaces).
_VISIBLE = """
n.tenant_id = :tenant_id
AND (:all_names OR n.name IN :names)
AND (
  (n.kind = 'tenant' AND (NOT :proactive OR NOT EXISTS (
      SELECT 1 FROM knowledge_acl pa WHERE pa.namespace_id = n.id)))
  OR (NOT :proactive AND n.kind = 'channel' AND n.channel = :channel)
  OR (NOT :proactive AND n.kind = 'private' AND n.owner_id = :user_id)
)
AND (
  NOT EXISTS (SELECT 1 FROM knowledge_acl a0 WHERE a0.namespace_id = n.id)
  OR EXISTS (
    SELECT 1 FROM knowledge_acl a1 WHERE a1.namespace_id = n.id AND (
      a1.principal = :user_principal
      OR a1.principal IN (
        SELECT 'group:' || g.group_name FROM knowledge_group_members g
        WHERE g.tenant_id = :tenant_id AND g.user_id = :user_id)))
)
"""

_SET_SEARCH_VECTOR = text(
    "UPDATE knowledge_chunks SET search_vector = to_tsvector('english', title_path || ' ' || text) "
    "WHERE document_id = :document_id"
)

_SCOPED_CHUNKS = f"""
c.tenant_id = :tenant_id AND c.namespace_id IN (
  SELECT n.id FROM knowledge_namespaces n WHERE {_VISIBLE})
"""


@dataclass(frozen=True)
class Namespace:
    id: str
    tenant_id: str
    name: str
    kind: str
    owner_id: str | None
    channel: str | None
    allow: tuple[str, ...] = ()
    documents: int = 0
    chunks: int = 0


@dataclass(frozen=True)
class StoredDocument:
    id: str
    source: str
    title: str
    content_hash: str
    status: str
    error: str | None
    chunk_count: int
    updated_at: float


@dataclass(frozen=True)
class NewChunk:
    position: int
    title_path: str
    text: str
    content_hash: str
    embedding: bytes | None = None
    embedding_model: str | None = None
    dimension: int | None = None


@dataclass(frozen=True)
class DocumentWrite:
    source: str
    title: str
    content_hash: str
    status: str  # "ready" | "failed"
    error: str | None = None
    chunks: tuple[NewChunk, ...] = field(default=(), repr=False)


def _scope(audience: KnowledgeAudience, namespaces: Sequence[str] | None) -> dict[str, Any]:
    return {
        "tenant_id": audience.tenant_id,
        "user_id": audience.user_id,
        "user_principal": f"user:{audience.user_id}",
        "channel": audience.channel or "",
        "proactive": audience.proactive,
        "all_names": namespaces is None,
        "names": list(namespaces or ["\x01none"]),
    }


def _scoped(sql: str) -> Any:
    return text(sql).bindparams(bindparam("names", expanding=True))


class KnowledgeStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self._clock = clock

    # --- namespaces ------------------------------------------------------------------------

    async def create_namespace(
        self,
        tenant_id: str,
        name: str,
        kind: str,
        created_by: str,
        *,
        owner_id: str | None = None,
        channel: str | None = None,
        allow: Sequence[str] = (),
    ) -> Namespace:
        if kind not in KINDS:
            raise InvalidInput(f"a namespace's kind is one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "private" and not owner_id:
            raise InvalidInput("a private namespace needs its owner")
        if kind == "channel" and not channel:
            raise InvalidInput('a channel namespace needs its channel ("<surface>:<channel id>")')
        for principal in allow:
            if not principal.startswith(("user:", "group:")):
                raise InvalidInput(f'an allow-list entry is "user:<id>" or "group:<name>", not {principal!r}')
        namespace = Namespace(
            new_id("kns"), tenant_id, name, kind, owner_id if kind == "private" else None,
            channel if kind == "channel" else None, tuple(sorted(set(allow))),
        )  # fmt: skip

        def work(conn: Connection) -> None:
            row = {
                "id": namespace.id, "tenant_id": tenant_id, "name": name, "kind": kind,
                "owner_id": namespace.owner_id, "channel": namespace.channel, "created_by": created_by,
                "revision": 0, "created_at": self._clock.now(),
            }  # fmt: skip
            if not insert_ignore(conn, knowledge_namespaces, row):  # the name is taken in this tenant
                raise Conflict(f"namespace {name!r} already exists")
            for principal in namespace.allow:
                conn.execute(insert(knowledge_acl).values(namespace_id=namespace.id, principal=principal))

        await self.db.run(work)
        return namespace

    async def namespace(self, tenant_id: str, name: str) -> Namespace:
        """A namespace by name, whoever may see it (for management, which checks its own rights)."""

        def work(conn: Connection) -> Namespace:
            row = conn.execute(
                select(knowledge_namespaces).where(
                    knowledge_namespaces.c.tenant_id == tenant_id, knowledge_namespaces.c.name == name
                )
            ).first()
            if row is None:
                raise NotFound(f"no namespace named {name!r}")
            allow = conn.execute(
                select(knowledge_acl.c.principal).where(knowledge_acl.c.namespace_id == row.id)
            ).scalars()
            return Namespace(
                row.id, tenant_id, row.name, row.kind, row.owner_id, row.channel, tuple(sorted(allow))
            )

        return await self.db.read(work)

    async def visible_namespaces(self, audience: KnowledgeAudience) -> list[Namespace]:
        """The namespaces the audience may search, with their document and chunk counts."""
        sql = _scoped(f"""
            SELECT n.id, n.name, n.kind, n.owner_id, n.channel,
              (SELECT COUNT(*) FROM knowledge_documents d WHERE d.namespace_id = n.id) AS documents,
              (SELECT COUNT(*) FROM knowledge_chunks c WHERE c.namespace_id = n.id) AS chunks
            FROM knowledge_namespaces n WHERE {_VISIBLE} ORDER BY n.name""")

        def work(conn: Connection) -> list[Namespace]:
            rows = conn.execute(sql, _scope(audience, None)).all()
            return [
                Namespace(
                    r.id, audience.tenant_id, r.name, r.kind, r.owner_id, r.channel, (), r.documents, r.chunks
                )
                for r in rows
            ]

        return await self.db.read(work)

    async def delete_namespace(self, tenant_id: str, name: str) -> None:
        def work(conn: Connection) -> None:
            ns_id = conn.execute(
                select(knowledge_namespaces.c.id).where(
                    knowledge_namespaces.c.tenant_id == tenant_id, knowledge_namespaces.c.name == name
                )
            ).scalar()
            if ns_id is None:
                raise NotFound(f"no namespace named {name!r}")
            conn.execute(delete(knowledge_chunks).where(knowledge_chunks.c.namespace_id == ns_id))
            conn.execute(delete(knowledge_documents).where(knowledge_documents.c.namespace_id == ns_id))
            conn.execute(delete(knowledge_acl).where(knowledge_acl.c.namespace_id == ns_id))
            conn.execute(delete(knowledge_namespaces).where(knowledge_namespaces.c.id == ns_id))

        await self.db.run(work)

    async def add_group_member(self, tenant_id: str, group: str, user_id: str) -> None:
        def work(conn: Connection) -> None:
            found = conn.execute(
                select(knowledge_group_members.c.user_id).where(
                    knowledge_group_members.c.tenant_id == tenant_id,
                    knowledge_group_members.c.group_name == group,
                    knowledge_group_members.c.user_id == user_id,
                )
            ).first()
            if found is None:
                conn.execute(
                    insert(knowledge_group_members).values(
                        tenant_id=tenant_id, group_name=group, user_id=user_id
                    )
                )

        await self.db.run(work)

    async def user_in_tenant(self, tenant_id: str, user_id: str) -> bool:
        stmt = select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        return await self.db.run(lambda conn: conn.execute(stmt).first() is not None)

    async def remove_group_member(self, tenant_id: str, group: str, user_id: str) -> bool:
        """False when the user was not in the group (of this tenant)."""
        g = knowledge_group_members.c
        stmt = delete(knowledge_group_members).where(
            g.tenant_id == tenant_id, g.group_name == group, g.user_id == user_id
        )
        return bool(await self.db.run(lambda conn: conn.execute(stmt).rowcount))

    async def groups(self, tenant_id: str) -> dict[str, list[str]]:
        """The tenant's groups, each with its members' ids, sorted."""
        g = knowledge_group_members.c
        stmt = (
            select(g.group_name, g.user_id).where(g.tenant_id == tenant_id).order_by(g.group_name, g.user_id)
        )
        out: dict[str, list[str]] = {}
        for name, user_id in await self.db.run(lambda conn: conn.execute(stmt).all()):
            out.setdefault(name, []).append(user_id)
        return out

    # --- documents (ingestion) ---------------------------------------------------------------

    async def documents(self, tenant_id: str, namespace_id: str) -> list[StoredDocument]:
        d = knowledge_documents.c

        def work(conn: Connection) -> list[StoredDocument]:
            rows = conn.execute(
                select(
                    d.id, d.source, d.title, d.content_hash, d.status, d.error, d.chunk_count, d.updated_at
                )
                .where(d.tenant_id == tenant_id, d.namespace_id == namespace_id)
                .order_by(d.source)
            ).all()
            return [StoredDocument(*row) for row in rows]

        return await self.db.read(work)

    async def vectors_by_hash(
        self, tenant_id: str, namespace_id: str, model: str, dimension: int
    ) -> dict[str, bytes]:
        """The namespace's embeddings by chunk content hash, for re-use: an unchanged chunk is
        not embedded again."""
        c = knowledge_chunks.c

        def work(conn: Connection) -> dict[str, bytes]:
            rows = conn.execute(
                select(c.content_hash, c.embedding).where(
                    c.tenant_id == tenant_id,
                    c.namespace_id == namespace_id,
                    c.embedding_model == model,
                    c.dimension == dimension,
                    c.embedding.is_not(None),
                )
            ).all()
            return {row.content_hash: row.embedding for row in rows}

        return await self.db.read(work)

    async def vector_dimensions(self, tenant_id: str, namespace_id: str, model: str) -> list[int]:
        """The dimensions of the namespace's vectors of `model`, most common first."""
        c = knowledge_chunks.c
        statement = (
            select(c.dimension)
            .where(c.tenant_id == tenant_id, c.namespace_id == namespace_id, c.embedding_model == model)
            .where(c.dimension.is_not(None))
            .group_by(c.dimension)
            .order_by(func.count().desc())
        )
        return await self.db.read(lambda conn: [int(d) for d in conn.execute(statement).scalars()])

    async def commit_document(self, tenant_id: str, namespace_id: str, doc: DocumentWrite) -> None:
        """Record a document and replace its chunks, in one transaction."""
        postgres = self.db.engine.dialect.name == "postgresql"

        def work(conn: Connection) -> None:
            doc_id = _upsert_document(conn, tenant_id, namespace_id, doc, self._clock.now())
            conn.execute(delete(knowledge_chunks).where(knowledge_chunks.c.document_id == doc_id))
            rows = [
                {
                    "tenant_id": tenant_id, "namespace_id": namespace_id, "document_id": doc_id,
                    "position": ch.position, "title_path": ch.title_path, "text": ch.text,
                    "content_hash": ch.content_hash, "embedding": ch.embedding,
                    "embedding_model": ch.embedding_model, "dimension": ch.dimension,
                }
                for ch in doc.chunks
            ]  # fmt: skip
            if rows:
                conn.execute(insert(knowledge_chunks), rows)
                if postgres:
                    conn.execute(_SET_SEARCH_VECTOR, {"document_id": doc_id})
            _bump(conn, namespace_id)

        await self.db.run(work)

    async def remove_document(self, tenant_id: str, namespace_id: str, source: str) -> bool:
        d = knowledge_documents.c

        def work(conn: Connection) -> bool:
            doc_id = conn.execute(
                select(d.id).where(
                    d.tenant_id == tenant_id, d.namespace_id == namespace_id, d.source == source
                )
            ).scalar()
            if doc_id is None:
                return False
            conn.execute(delete(knowledge_chunks).where(knowledge_chunks.c.document_id == doc_id))
            conn.execute(delete(knowledge_documents).where(d.id == doc_id))
            _bump(conn, namespace_id)
            return True

        return await self.db.run(work)

    # --- search (the KnowledgeIndex port) ------------------------------------------------------

    async def audience_of_run(self, tenant_id: str, run_id: str) -> KnowledgeAudience:
        """Who a run searches as: its requester in its conversation's channel; proactive when a
        schedule fired it."""

        def work(conn: Connection) -> KnowledgeAudience:
            run = conn.execute(
                select(runs.c.user_id, runs.c.surface, runs.c.thread_key, runs.c.idempotency_key).where(
                    runs.c.tenant_id == tenant_id, runs.c.id == run_id
                )
            ).first()
            if run is None:
                raise NotFound(f"no run {run_id}")
            fired = conn.execute(
                select(schedule_fires.c.run_id).where(schedule_fires.c.run_id == run_id).limit(1)
            ).first()
            # A fire's run is attached after it is submitted: its idempotency key (the runtime
            # prefixes the requester's id) says so at once. Claiming it only narrows what one sees.
            key = run.idempotency_key or ""
            scheduled = fired is not None or key.startswith(f"{run.user_id}:schedule:")
            channel = f"{run.surface}:{channel_of(run.surface, run.thread_key)}"
            return KnowledgeAudience(tenant_id, run.user_id, channel, proactive=scheduled)

        return await self.db.read(work)

    async def keyword_ranked(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None, terms: Sequence[str], limit: int
    ) -> list[int]:
        """Chunk ids matching any of `terms`, best first, among the chunks the audience may see."""
        if not terms:
            return []
        postgres = self.db.engine.dialect.name == "postgresql"
        if postgres:
            sql = _scoped(f"""
                SELECT c.id FROM knowledge_chunks c
                WHERE {_SCOPED_CHUNKS} AND c.search_vector @@ to_tsquery('english', :query)
                ORDER BY ts_rank(c.search_vector, to_tsquery('english', :query)) DESC, c.id
                LIMIT :limit""")
            query = " | ".join(terms)
        else:
            sql = _scoped(f"""
                SELECT c.id FROM knowledge_chunks_fts f JOIN knowledge_chunks c ON c.id = f.rowid
                WHERE knowledge_chunks_fts MATCH :query AND {_SCOPED_CHUNKS}
                ORDER BY bm25(knowledge_chunks_fts), c.id
                LIMIT :limit""")
            query = " OR ".join(f'"{term}"' for term in terms)
        params = {**_scope(audience, namespaces), "query": query, "limit": limit}
        return await self.db.read(lambda conn: list(conn.execute(sql, params).scalars()))

    async def vectors(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None, model: str, dimension: int
    ) -> tuple[list[int], list[bytes]]:
        """The embeddings (of `model` and `dimension`) of the chunks the audience may see."""
        sql = _scoped(f"""
            SELECT c.id, c.embedding FROM knowledge_chunks c
            WHERE {_SCOPED_CHUNKS} AND c.embedding_model = :model AND c.dimension = :dimension
              AND c.embedding IS NOT NULL""")
        params = {**_scope(audience, namespaces), "model": model, "dimension": dimension}

        def work(conn: Connection) -> tuple[list[int], list[bytes]]:
            rows = conn.execute(sql, params).all()
            return [r.id for r in rows], [bytes(r.embedding) for r in rows]

        return await self.db.read(work)

    async def visible_revisions(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None
    ) -> list[tuple[str, int]]:
        """The (id, revision) of each namespace the audience may search: what a vector cache
        keys on (a revision changes with every change to the namespace's chunks)."""
        sql = _scoped(f"SELECT n.id, n.revision FROM knowledge_namespaces n WHERE {_VISIBLE} ORDER BY n.id")
        params = _scope(audience, namespaces)
        return await self.db.read(lambda conn: [(r.id, int(r.revision)) for r in conn.execute(sql, params)])

    async def namespace_vectors(
        self, tenant_id: str, namespace_id: str, model: str, dimension: int
    ) -> tuple[list[int], list[bytes]]:
        """One namespace's vectors, for a caller that got its id from `visible_revisions`."""
        c = knowledge_chunks.c
        statement = select(c.id, c.embedding).where(
            c.tenant_id == tenant_id,
            c.namespace_id == namespace_id,
            c.embedding_model == model,
            c.dimension == dimension,
            c.embedding.is_not(None),
        )

        def work(conn: Connection) -> tuple[list[int], list[bytes]]:
            rows = conn.execute(statement).all()
            return [r.id for r in rows], [bytes(r.embedding) for r in rows]

        return await self.db.read(work)

    async def hits(self, audience: KnowledgeAudience, chunk_ids: Sequence[int]) -> list[KnowledgeHit]:
        """The chunks `chunk_ids` with their citations, in that order, each only if the audience
        may see it (filtered again: an id is never trusted on its own)."""
        if not chunk_ids:
            return []
        sql = _scoped(f"""
            SELECT c.id, n.name AS namespace, d.title, d.source, c.position, c.title_path, c.text
            FROM knowledge_chunks c
            JOIN knowledge_documents d ON d.id = c.document_id
            JOIN knowledge_namespaces n ON n.id = c.namespace_id
            WHERE {_SCOPED_CHUNKS} AND c.id IN :ids""").bindparams(bindparam("ids", expanding=True))
        params = {**_scope(audience, None), "ids": list(chunk_ids)}

        def work(conn: Connection) -> list[KnowledgeHit]:
            found = {r.id: r for r in conn.execute(sql, params).all()}
            ordered = [found[i] for i in chunk_ids if i in found]
            return [
                KnowledgeHit(rank, r.namespace, r.title, r.source, r.position, r.title_path, r.text)
                for rank, r in enumerate(ordered, start=1)
            ]

        return await self.db.read(work)


def channel_of(surface: str, thread_key: str) -> str:
    """The channel part of a session's thread key, as a channel namespace names it: a Teams key
    is "<conversation id>[;messageid=<root>]" (its ids hold colons), the others are
    "<channel>:<thread>" (Slack, Discord; the API's "<user>:<session>")."""
    if surface == "teams":
        return thread_key.split(";messageid=", 1)[0]
    return thread_key.split(":", 1)[0]


def _upsert_document(
    conn: Connection, tenant_id: str, namespace_id: str, doc: DocumentWrite, now: float
) -> str:
    d = knowledge_documents.c
    values = {
        "title": doc.title, "content_hash": doc.content_hash, "status": doc.status, "error": doc.error,
        "chunk_count": len(doc.chunks), "updated_at": now,
    }  # fmt: skip
    # Insert-if-missing, then update: two uploads of one document at once (PostgreSQL) queue on
    # the row instead of one failing on the unique (namespace, source).
    fresh = {"id": new_id("kdc"), "tenant_id": tenant_id, "namespace_id": namespace_id, "source": doc.source}
    insert_ignore(conn, knowledge_documents, {**fresh, **values})
    doc_id: str = conn.execute(
        select(d.id).where(d.tenant_id == tenant_id, d.namespace_id == namespace_id, d.source == doc.source)
    ).scalar_one()
    conn.execute(update(knowledge_documents).where(d.id == doc_id).values(**values))
    return doc_id


def _bump(conn: Connection, namespace_id: str) -> None:
    ns = knowledge_namespaces.c
    conn.execute(update(knowledge_namespaces).where(ns.id == namespace_id).values(revision=ns.revision + 1))
