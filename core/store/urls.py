"""Database URLs as people type them, mapped to the drivers we ship."""

from __future__ import annotations


def normalise_url(url: str) -> str:
    """Accept the URLs people type and pick the driver we ship."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url.removeprefix("sqlite+aiosqlite://")
    return url


def is_sqlite(url: str) -> bool:
    return normalise_url(url).startswith("sqlite")
