"""Embeddings behind a small port, and its OpenAI-compatible implementation (`/v1/embeddings`:
OpenAI, Ollama, vLLM, or the scripted model server). Vectors come back as float32 rows,
L2-normalised, so cosine similarity is a dot product."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import openai
from openai import AsyncOpenAI

log = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "switchboard-no-key"  # local endpoints take any key; the SDK wants one


class EmbeddingsUnavailable(Exception):
    """The endpoint is down, refused the request, or answered vectors we cannot use."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Embedder(Protocol):
    @property
    def model(self) -> str: ...

    async def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    async def aclose(self) -> None: ...


def normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


class OpenAIEmbedder:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        dimension: int | None = None,
        timeout_s: float = 30.0,
        batch: int = 64,
    ) -> None:
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or PLACEHOLDER_API_KEY, timeout=timeout_s, max_retries=1
        )
        self._model = model
        self._dimension = dimension
        self._batch = batch

    @property
    def model(self) -> str:
        return self._model

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            part = list(texts[start : start + self._batch])
            try:
                answer = await self._client.embeddings.create(model=self._model, input=part)
            except openai.APIError as exc:  # connection errors, timeouts and HTTP errors alike
                raise EmbeddingsUnavailable(
                    f"the embeddings endpoint failed: {type(exc).__name__}: {exc}"
                ) from exc
            got = sorted(answer.data, key=lambda d: d.index)
            if len(got) != len(part):
                raise EmbeddingsUnavailable(f"asked for {len(part)} embeddings, got {len(got)}")
            rows.extend(d.embedding for d in got)
        if not rows:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise EmbeddingsUnavailable(f"the endpoint answered vectors of mixed dimensions {sorted(widths)}")
        width = widths.pop()
        if self._dimension is not None and width != self._dimension:
            raise EmbeddingsUnavailable(
                f"the endpoint answered {width}-dimensional vectors; {self._dimension} are configured"
            )
        return normalise(np.asarray(rows, dtype=np.float32))

    async def aclose(self) -> None:
        await self._client.close()
