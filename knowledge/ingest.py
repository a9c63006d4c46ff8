"""Keeping a namespace in step with files: add one file, or sync a folder.

Incremental by content hash: a document whose bytes did not change is skipped (unless its
vectors are missing, when only they are made); a changed one is re-chunked, and only chunks whose
text is new are embedded. A document's chunks are written in the transaction that records its
status (core/store/knowledge.py), so an ingest stopped mid-way leaves each document whole, old or
new, and running it again finishes the rest with no duplicate. A document that cannot be read is
recorded as failed, with why, and has no chunks. Files gone from a synced folder are removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.store.knowledge import DocumentWrite, KnowledgeStore, Namespace, NewChunk, StoredDocument
from knowledge.chunker import Chunk, chunk_document
from knowledge.embeddings import Embedder, EmbeddingsUnavailable
from knowledge.reader import DEFAULT_MAX_BYTES, Unreadable, check_size, content_hash, format_of, parse

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, source)
VECTORS_PENDING = "vectors pending: "  # the prefix of a ready document's error when embedding failed


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    chunks_written: int = 0
    chunks_embedded: int = 0
    embeddings_error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "removed": self.removed, "failed": self.failed, "chunks_written": self.chunks_written,
            "chunks_embedded": self.chunks_embedded, "embeddings_error": self.embeddings_error,
        }  # fmt: skip


def files_under(root: Path) -> Iterator[Path]:
    """The supported files under `root`, in a stable order; hidden folders (.git) are skipped."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and format_of(path.name) is not None:
            yield path


class Ingestor:
    def __init__(
        self, store: KnowledgeStore, embedder: Embedder | None, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._max_bytes = max_bytes

    async def add_bytes(self, namespace: Namespace, source: str, data: bytes, report: IngestReport) -> None:
        """Ingest one document's bytes under `source` (a path or URL naming its format)."""
        known = {d.source: d for d in await self._store.documents(namespace.tenant_id, namespace.id)}
        await self._ingest(namespace, source, lambda: data, known.get(source), report)

    async def sync_folder(
        self,
        namespace: Namespace,
        root: Path,
        *,
        prefix: str | None = None,
        progress: Progress | None = None,
        within: Path | None = None,
    ) -> IngestReport:
        """Make the namespace's documents under `prefix` (default: the folder's path) match the
        files under `root`: add and update what changed, remove what is gone. With `within` (a
        resolved folder), a file whose real path is outside it (a symlink out) is left out."""
        root = root.resolve()
        base = prefix if prefix is not None else str(root)
        paths = list(files_under(root))
        if within is not None:
            paths = [p for p in paths if p.resolve().is_relative_to(within)]
        known = {d.source: d for d in await self._store.documents(namespace.tenant_id, namespace.id)}
        report = IngestReport()
        seen: set[str] = set()
        for done, path in enumerate(paths, start=1):
            rel = path.name if root.is_file() else path.relative_to(root).as_posix()
            source = f"{base.rstrip('/')}/{rel}" if not root.is_file() else base
            seen.add(source)
            await self._ingest(namespace, source, _reader(path, self._max_bytes), known.get(source), report)
            if progress is not None:
                progress(done, len(paths), source)
        if not root.is_file():
            under = base.rstrip("/") + "/"
            for source in sorted(s for s in known if s.startswith(under) and s not in seen):
                await self._store.remove_document(namespace.tenant_id, namespace.id, source)
                report.removed.append(source)
        return report

    async def _ingest(
        self,
        namespace: Namespace,
        source: str,
        read: Callable[[], bytes],
        known: StoredDocument | None,
        report: IngestReport,
    ) -> None:
        try:
            data = read()
            doc = parse(source, data, self._max_bytes)
        except Unreadable as exc:
            await self._fail(namespace, source, exc.message, known, report)
            return
        except OSError as exc:
            await self._fail(
                namespace, source, f"the file cannot be read: {exc.strerror or exc}", known, report
            )
            return
        if _unchanged(known, doc.content_hash, self._embedder is not None):
            report.unchanged.append(source)
            return
        chunks = chunk_document(doc)
        if not chunks:
            await self._fail(namespace, source, "the document has no text to index", known, report)
            return
        written, error = await self._embed(namespace, chunks, report)
        status_error = f"{VECTORS_PENDING}{error}" if error else None
        write = DocumentWrite(source, doc.title, doc.content_hash, "ready", status_error, tuple(written))
        await self._store.commit_document(namespace.tenant_id, namespace.id, write)
        report.chunks_written += len(written)
        (report.added if known is None else report.updated).append(source)

    async def _embed(
        self, namespace: Namespace, chunks: list[Chunk], report: IngestReport
    ) -> tuple[list[NewChunk], str | None]:
        hashes = [content_hash(f"{c.title_path}\n{c.text}".encode()) for c in chunks]
        plain = [NewChunk(c.position, c.title_path, c.text, h) for c, h in zip(chunks, hashes, strict=True)]
        if self._embedder is None:
            return plain, None
        model = self._embedder.model
        try:
            reuse = await self._reusable(namespace, model)
            missing = [i for i, h in enumerate(hashes) if h not in reuse[1]]
            fresh = await self._embedder.embed([f"{chunks[i].title_path}\n{chunks[i].text}" for i in missing])
        except EmbeddingsUnavailable as exc:
            report.embeddings_error = exc.message
            log.warning("embeddings unavailable, chunks stored for keyword search only: %s", exc.message)
            return plain, exc.message
        dimension = reuse[0] if not missing else int(fresh.shape[1])
        if missing and reuse[0] and reuse[0] != dimension:
            reuse = (dimension, {})  # the model changed its dimension: the old vectors go
        vectors = dict(reuse[1])
        for i, row in zip(missing, fresh, strict=True):
            vectors[hashes[i]] = np.asarray(row, dtype=np.float32).tobytes()
        report.chunks_embedded += len(missing)
        return [
            NewChunk(c.position, c.title_path, c.text, h, vectors.get(h), model, dimension)
            for c, h in zip(chunks, hashes, strict=True)
        ], None

    async def _reusable(self, namespace: Namespace, model: str) -> tuple[int, dict[str, bytes]]:
        """The namespace's existing vectors of `model`, by chunk hash, and their dimension."""
        for dimension in (await self._store.vector_dimensions(namespace.tenant_id, namespace.id, model))[:1]:
            return dimension, await self._store.vectors_by_hash(
                namespace.tenant_id, namespace.id, model, dimension
            )
        return 0, {}

    async def _fail(
        self, namespace: Namespace, source: str, why: str, known: StoredDocument | None, report: IngestReport
    ) -> None:
        title = known.title if known is not None else Path(source).name[:500]
        await self._store.commit_document(
            namespace.tenant_id, namespace.id, DocumentWrite(source, title or source[:500], "", "failed", why)
        )
        report.failed[source] = why


def _unchanged(known: StoredDocument | None, digest: str, embedding: bool) -> bool:
    """Nothing to do: the same bytes, ingested, and no vectors waiting to be made."""
    if known is None or known.content_hash != digest or known.status != "ready":
        return False
    return not (embedding and (known.error or "").startswith(VECTORS_PENDING))


def _reader(path: Path, max_bytes: int) -> Callable[[], bytes]:
    def read() -> bytes:
        check_size(path.stat().st_size, max_bytes)  # before reading a 200 MB file into memory
        return path.read_bytes()

    return read
