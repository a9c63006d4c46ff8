"""The document formats knowledge reads, by file suffix (standard library only: the CLI uses it)."""

from __future__ import annotations

from pathlib import PurePath

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def format_of(name: str) -> str | None:
    return FORMATS.get(PurePath(name).suffix.lower())
