"""Knowledge fixtures: the knowledge store on the shared `store` (SQLite and PostgreSQL), the
scripted model server's deterministic /v1/embeddings, an ingestor and a retriever over them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from core.scripted_model import ScriptedModelServer
from core.store.context import ContextStore
from core.store.knowledge import KnowledgeStore
from knowledge.embeddings import OpenAIEmbedder
from knowledge.ingest import Ingestor
from knowledge.retriever import Retriever

EMBEDDING_MODEL = "scripted-embeddings"


@pytest.fixture(scope="module")
def embeddings_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@dataclass
class Kit:
    store: KnowledgeStore
    embedder: OpenAIEmbedder
    ingestor: Ingestor
    retriever: Retriever


@pytest.fixture
async def kit(store: ContextStore, embeddings_server: ScriptedModelServer) -> AsyncIterator[Kit]:
    knowledge = KnowledgeStore(store.db, store.clock)
    embedder = OpenAIEmbedder(embeddings_server.base_url, EMBEDDING_MODEL)
    yield Kit(knowledge, embedder, Ingestor(knowledge, embedder), Retriever(knowledge, embedder))
    await embedder.aclose()
