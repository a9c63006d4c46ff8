"""Knowledge ingestion throughput: a folder of Markdown documents synced into one namespace, with
vectors from the scripted model server's /v1/embeddings (over HTTP, as from a real endpoint), then
synced again unchanged (hash checks only). Chunks per second, on SQLite and PostgreSQL.

    python -m benchmarks.knowledge_ingest [--db sqlite|postgres|both] [--docs 200] [--sections 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import drop_database, fresh_database
from core.scripted_model import ScriptedModelServer
from core.store.context import ContextStore
from core.store.knowledge import KnowledgeStore
from core.store.migrate import migrate
from knowledge.embeddings import OpenAIEmbedder
from knowledge.ingest import Ingestor

WORDS = [f"w{n:04d}" for n in range(3000)] + [
    "deploy",
    "rollback",
    "page",
    "incident",
    "backup",
    "restore",
    "slack",
    "token",
]


def write_corpus(folder: Path, docs: int, sections: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for d in range(docs):
        parts = [f"# Document {d}\n"]
        for s in range(sections):
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 140)))
            parts.append(f"## Section {s}\n\n{body}.\n")
        (folder / f"doc{d:04d}.md").write_text("\n".join(parts))


async def measure(kind: str, docs: int, sections: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        write_corpus(folder, docs, sections)
        url = fresh_database(kind, tmp)
        store = ContextStore.open(url)
        try:
            await migrate(store.db)
            tenant = await store.directory.create_tenant("bench")
            user = await store.directory.create_user(tenant, "admin")
            knowledge = KnowledgeStore(store.db, store.clock)
            ns = await knowledge.create_namespace(tenant, "docs", "tenant", user.id)
            with ScriptedModelServer() as server:
                embedder = OpenAIEmbedder(server.base_url, "scripted-embeddings")
                ingestor = Ingestor(knowledge, embedder)
                started = time.perf_counter()
                report = await ingestor.sync_folder(ns, folder, prefix="corpus")
                first = time.perf_counter() - started
                started = time.perf_counter()
                again = await ingestor.sync_folder(ns, folder, prefix="corpus")
                second = time.perf_counter() - started
                await embedder.aclose()
            chunks = report.chunks_written
            print(
                f"{kind:8s} {docs} docs, {chunks} chunks: first sync {first:.1f} s = {chunks / first:.0f} chunks/s "
                f"({report.chunks_embedded} embedded); unchanged re-sync {second:.2f} s "
                f"({len(again.unchanged)} unchanged)"
            )
        finally:
            await store.close()
            drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--sections", type=int, default=10)
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        asyncio.run(measure(kind, min(args.docs, 5000), min(args.sections, 100)))


if __name__ == "__main__":
    main()
