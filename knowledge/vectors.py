"""An in-process cache of namespaces' vector matrices, keyed by (tenant, namespace, revision,
model, dimension) and bounded in bytes (least recently used goes first).

Which namespaces a search may use comes from the store's access-filtered statement on every
search (`visible_revisions`); the cache only saves reloading the vectors of a namespace whose
chunks did not change since. A change bumps the namespace's revision in the transaction that
makes it, so a stale matrix is never used, in this process or another."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from core.ports import KnowledgeIndex

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Matrix:
    ids: np.ndarray  # int64 chunk ids
    vectors: np.ndarray  # float32, one normalised row per id

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.vectors.nbytes)


Key = tuple[str, str, int, str, int]


class VectorCache:
    def __init__(self, index: KnowledgeIndex, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._index = index
        self._max = max_bytes
        self._held: OrderedDict[Key, Matrix] = OrderedDict()
        self._bytes = 0

    async def matrix(
        self, tenant_id: str, namespace_id: str, revision: int, model: str, dimension: int
    ) -> Matrix:
        key = (tenant_id, namespace_id, revision, model, dimension)
        found = self._held.get(key)
        if found is not None:
            self._held.move_to_end(key)
            return found
        ids, blobs = await self._index.namespace_vectors(tenant_id, namespace_id, model, dimension)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dimension)
        made = Matrix(np.asarray(ids, dtype=np.int64), vectors)
        self._forget(tenant_id, namespace_id)  # older revisions of it are of no more use
        if made.nbytes <= self._max:
            self._held[key] = made
            self._bytes += made.nbytes
            while self._bytes > self._max:
                _, dropped = self._held.popitem(last=False)
                self._bytes -= dropped.nbytes
        return made

    def _forget(self, tenant_id: str, namespace_id: str) -> None:
        for key in [k for k in self._held if k[0] == tenant_id and k[1] == namespace_id]:
            self._bytes -= self._held.pop(key).nbytes
