"""A deterministic `/v1/embeddings` for tests and the offline demo: a hashed bag of words and
character trigrams in a fixed dimension, L2-normalised. Texts that share words are close, so the
dense search path is exercised with no model download; the same text always gives the same vector."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

DEFAULT_DIMENSION = 256
MAX_DIMENSION = 4096
_WORD = re.compile(r"[a-z0-9]+")


def embed_text(text: str, dimension: int = DEFAULT_DIMENSION) -> list[float]:
    vector = [0.0] * dimension
    for word in _WORD.findall(text.lower()):
        stem = word[:-1] if len(word) > 3 and word.endswith("s") else word
        features = [(stem, 1.0)] + [(f"#{stem[i : i + 3]}", 0.3) for i in range(max(0, len(stem) - 2))]
        for feature, weight in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % dimension
            vector[index] += weight if digest[4] & 1 else -weight
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


async def embeddings(request: Request) -> Response:
    try:
        body: Any = await request.json()
    except ValueError:
        return _error("the body is not JSON")
    if not isinstance(body, dict) or "input" not in body:
        return _error("input is required")
    raw = body["input"]
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return _error("input must be a string or a list of strings")
    dimension = body.get("dimensions", DEFAULT_DIMENSION)
    if not isinstance(dimension, int) or not 1 <= dimension <= MAX_DIMENSION:
        return _error(f"dimensions must be 1..{MAX_DIMENSION}")
    data = [
        {"object": "embedding", "index": i, "embedding": embed_text(t, dimension)}
        for i, t in enumerate(texts)
    ]
    tokens = sum(len(t.split()) for t in texts)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": str(body.get("model", "scripted-embeddings")),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def _error(message: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=400)
