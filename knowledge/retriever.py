"""Search: keyword ranks from the store (FTS5 / PostgreSQL full text) and exact cosine over the
vectors of the chunks the audience may see (the namespaces from an access-filtered statement on
every search, their matrices from an in-process cache keyed by revision: knowledge/vectors.py),
fused by reciprocal rank. Both lists come from
statements that apply the access filter themselves (core/store/knowledge.py); the chunks are then
read through the same filter again, so an id never stands on its own. With no embeddings endpoint,
or one that fails, the search is keyword-only and says so."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from core.ports import KnowledgeAnswer, KnowledgeAudience, KnowledgeIndex
from knowledge.embeddings import Embedder, EmbeddingsUnavailable
from knowledge.vectors import DEFAULT_CACHE_BYTES, VectorCache

RRF_K = 60  # the usual constant: a list's first item weighs 1/61, its tenth 1/70
MAX_TERMS = 32
_TERM = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]  # noqa: SIM905
)
MODES = ("hybrid", "keyword", "dense")


def query_terms(query: str) -> list[str]:
    """The query's words, lower-cased, without stopwords, each once: safe inside both FTS5's and
    PostgreSQL's query syntax (letters and digits only)."""
    terms: list[str] = []
    for word in _TERM.findall(query.lower()):
        if word not in _STOPWORDS and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def fuse(*rankings: Sequence[int], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the lists an item appears in."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: (-scores[item], item))


class Retriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: Embedder | None,
        *,
        candidates: int = 50,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self._index = index
        self._embedder = embedder
        self._candidates = candidates
        self._cache = VectorCache(index, cache_bytes)

    @property
    def dense(self) -> bool:
        return self._embedder is not None

    async def audience_of_run(self, tenant_id: str, run_id: str) -> KnowledgeAudience:
        return await self._index.audience_of_run(tenant_id, run_id)

    async def search(
        self,
        audience: KnowledgeAudience,
        query: str,
        namespaces: Sequence[str] | None,
        limit: int,
        mode: str = "hybrid",
    ) -> KnowledgeAnswer:
        limit = max(1, min(limit, 50))
        keyword: list[int] = []
        if mode != "dense":
            keyword = await self._index.keyword_ranked(
                audience, namespaces, query_terms(query), self._candidates
            )
        dense: list[int] = []
        note: str | None = None
        if mode == "keyword":
            note = "keyword-only: asked for"
        elif self._embedder is None:
            note = "keyword-only: no embeddings endpoint is configured"
        else:
            try:
                dense = await self._dense(audience, namespaces, query, self._embedder)
            except EmbeddingsUnavailable as exc:
                note = f"keyword-only: {exc.message}"
        ranked = fuse(keyword, dense) if mode == "hybrid" else (dense if mode == "dense" else keyword)
        hits = await self._index.hits(audience, ranked[:limit])
        used = "keyword" if note else mode
        return KnowledgeAnswer(tuple(hits), used, note)

    async def _dense(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None, query: str, embedder: Embedder
    ) -> list[int]:
        vector = (await embedder.embed([query]))[0]
        dimension = int(vector.shape[0])
        # The namespaces come from the store's access-filtered statement, on every search.
        visible = await self._index.visible_revisions(audience, namespaces)
        best: list[tuple[float, int]] = []
        for namespace_id, revision in visible:
            matrix = await self._cache.matrix(
                audience.tenant_id, namespace_id, revision, embedder.model, dimension
            )
            if not len(matrix.ids):
                continue
            scores = matrix.vectors @ vector
            count = min(self._candidates, len(scores))
            top = np.argpartition(-scores, count - 1)[:count]
            best.extend((float(scores[i]), int(matrix.ids[i])) for i in top)
        best.sort(key=lambda pair: (-pair[0], pair[1]))
        return [chunk_id for _, chunk_id in best[: self._candidates]]
