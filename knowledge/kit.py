"""The knowledge pieces a service runs with, built from its settings section: the store, the
embedder (or none: keyword-only), the ingestor and the retriever; and the demo namespace of
Switchboard's own docs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from core.errors import Conflict
from core.settings import KnowledgeSettings
from core.store.knowledge import KnowledgeStore, Namespace
from knowledge.embeddings import Embedder, OpenAIEmbedder
from knowledge.ingest import Ingestor, IngestReport
from knowledge.retriever import Retriever

log = logging.getLogger(__name__)

DEMO_NAMESPACE = "switchboard-docs"
_REPO = Path(__file__).resolve().parent.parent
# Switchboard's own docs, as the demo tenant's tenant-wide namespace (paths from the checkout).
DEMO_DOCS = ("README.md", "docs/architecture.md", "manifests/README.md", "manifests/discord.md")


@dataclass
class KnowledgeKit:
    store: KnowledgeStore
    embedder: Embedder | None
    ingestor: Ingestor
    retriever: Retriever

    async def aclose(self) -> None:
        if self.embedder is not None:
            await self.embedder.aclose()

    async def ensure_demo_docs(self, tenant_id: str, admin_id: str) -> IngestReport:
        """Ingest (incrementally) Switchboard's docs into the tenant's demo namespace."""
        namespace = await self._demo_namespace(tenant_id, admin_id)
        report = IngestReport()
        for name in DEMO_DOCS:
            path = _REPO / name
            if not path.is_file():  # an installed wheel carries no docs
                continue
            await self.ingestor.add_bytes(namespace, name, path.read_bytes(), report)
        return report

    async def _demo_namespace(self, tenant_id: str, admin_id: str) -> Namespace:
        try:
            return await self.store.create_namespace(tenant_id, DEMO_NAMESPACE, "tenant", admin_id)
        except Conflict:
            return await self.store.namespace(tenant_id, DEMO_NAMESPACE)


def build_kit(
    settings: KnowledgeSettings, store: KnowledgeStore, model_base_url: str | None, model_key: str | None
) -> KnowledgeKit:
    """`model_base_url` (and its key): the model endpoint (or the offline demo's), used for
    embeddings when the section names no endpoint of its own."""
    embedder: Embedder | None = None
    base_url = settings.embeddings_base_url or model_base_url
    if base_url and not settings.keyword_only:
        key = settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None
        key = key or (model_key if not settings.embeddings_base_url else None)
        embedder = OpenAIEmbedder(
            base_url, settings.embeddings_model, api_key=key, dimension=settings.embeddings_dimension
        )
    else:
        log.info("knowledge search is keyword-only: no embeddings endpoint is configured")
    ingestor = Ingestor(store, embedder, max_bytes=settings.max_file_bytes)
    return KnowledgeKit(store, embedder, ingestor, Retriever(store, embedder))
