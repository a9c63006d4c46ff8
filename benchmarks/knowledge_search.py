"""Knowledge search latency with the access filter on: N chunks across 10 tenants (each with a
tenant-wide namespace, an allow-listed one the searcher is not on, and the searcher's private
one), searched as one tenant's member. p50/p99 per mode (keyword, dense, hybrid), excluding the
embeddings call: query vectors are made in-process. Each tenant's first search, which loads its
namespaces' vectors into the retriever's cache, is reported apart ("cold"); 50 untimed searches
then warm the database's caches before the timed ones. Target (issue 20): p99 <= 50 ms at 100k
chunks on this 2-core machine (keyword + vector).

    python -m benchmarks.knowledge_search [--db sqlite|postgres|both] [--chunks 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from benchmarks.common import drop_database, fresh_database, percentile
from core.ports import KnowledgeAudience
from core.scripted_model.embeddings import embed_text
from core.store.context import ContextStore
from core.store.knowledge import DocumentWrite, KnowledgeStore, NewChunk
from core.store.migrate import migrate
from knowledge.embeddings import normalise
from knowledge.retriever import MODES, Retriever

TENANTS = 10
DIMENSION = 256
PER_DOC = 100
VOCABULARY = [f"term{n:04d}" for n in range(5000)]
MODEL = "bench-embeddings"


class WordVectors:
    """Query and chunk vectors as the normalised sum of per-word scripted vectors: in-process and
    fast, so the benchmark times the search, not the embeddings call."""

    def __init__(self) -> None:
        self._table = {w: np.asarray(embed_text(w, DIMENSION), dtype=np.float32) for w in VOCABULARY}

    @property
    def model(self) -> str:
        return MODEL

    def vector(self, text: str) -> np.ndarray:
        rows = [self._table[w] for w in text.split() if w in self._table]
        total = np.sum(rows, axis=0) if rows else np.zeros(DIMENSION, dtype=np.float32)
        return normalise(total.reshape(1, -1))[0]

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.vector(t) for t in texts])

    async def aclose(self) -> None:
        return None


async def populate(
    knowledge: KnowledgeStore, store: ContextStore, chunks: int, words: WordVectors
) -> list[KnowledgeAudience]:
    rng = random.Random(11)
    searchers = []
    per_tenant = chunks // TENANTS
    for t in range(TENANTS):
        tenant = await store.directory.create_tenant(f"bench-{t}")
        admin = await store.directory.create_user(tenant, "admin")
        member = await store.directory.create_user(tenant, "member")
        spaces = [
            (await knowledge.create_namespace(tenant, "wiki", "tenant", admin.id), 0.8),
            (
                await knowledge.create_namespace(
                    tenant, "secret", "tenant", admin.id, allow=[f"user:{admin.id}"]
                ),
                0.1,
            ),
            (await knowledge.create_namespace(tenant, "mine", "private", member.id, owner_id=member.id), 0.1),
        ]
        for ns, share in spaces:
            count = int(per_tenant * share)
            for start in range(0, count, PER_DOC):
                rows = []
                for position in range(start, min(start + PER_DOC, count)):
                    text = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(40, 90)))
                    vector = words.vector(text).tobytes()
                    rows.append(
                        NewChunk(
                            position,
                            f"Doc {start} > Section {position}",
                            text,
                            f"{ns.id}{position}",
                            vector,
                            MODEL,
                            DIMENSION,
                        )
                    )
                doc = DocumentWrite(f"doc{start}.md", f"Doc {start}", f"h{start}", "ready", None, tuple(rows))
                await knowledge.commit_document(tenant, ns.id, doc)
        searchers.append(KnowledgeAudience(tenant, member.id))
    return searchers


async def measure(kind: str, chunks: int, queries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(kind, tmp)
        store = ContextStore.open(url)
        try:
            await migrate(store.db)
            knowledge = KnowledgeStore(store.db, store.clock)
            words = WordVectors()
            started = time.perf_counter()
            searchers = await populate(knowledge, store, chunks, words)
            loaded = time.perf_counter() - started
            if kind == "postgres":
                await store.db.run(lambda conn: conn.exec_driver_sql("ANALYZE"))
            retriever = Retriever(knowledge, words)
            rng = random.Random(5)
            cold: list[float] = []
            for who in searchers:  # each tenant's first dense search loads its matrices into the cache
                begin = time.perf_counter()
                await retriever.search(who, "term0001 term0002", None, 5, "dense")
                cold.append((time.perf_counter() - begin) * 1000)
            for n in range(min(queries, 50)):  # warm the database's caches too (untimed)
                query = " ".join(rng.choice(VOCABULARY) for _ in range(4))
                await retriever.search(searchers[n % len(searchers)], query, None, 5, "hybrid")
            line = [
                f"{kind:8s} {chunks:>6} chunks ({loaded:.0f} s to load; cold first search max {max(cold):.0f} ms):"
            ]
            for mode in MODES:
                took: list[float] = []
                for n in range(queries):
                    query = " ".join(rng.choice(VOCABULARY) for _ in range(4))
                    who = searchers[n % len(searchers)]
                    begin = time.perf_counter()
                    answer = await retriever.search(who, query, None, 5, mode)
                    took.append((time.perf_counter() - begin) * 1000)
                    assert all(h.namespace in ("wiki", "mine") for h in answer.hits)
                line.append(f"{mode} p50 {percentile(took, 50):.1f} ms p99 {percentile(took, 99):.1f} ms")
            print("  ".join(line), flush=True)
        finally:
            await store.close()
            drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    for chunks in args.chunks:
        for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
            asyncio.run(measure(kind, min(chunks, 1_000_000), min(args.queries, 10_000)))


if __name__ == "__main__":
    main()
