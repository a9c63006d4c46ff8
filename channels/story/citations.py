"""An answer's citations as a "Sources" block, written once in Markdown for every chat surface.

The `search_knowledge` tool asks the model to end an answer that uses passages with one line per
passage, `[ref] title, source` (the demo's script writes `… (part N)` after it). `with_sources`
finds that trailing block, or takes the citations a `RunCompleted` carries (`citations`: a list of
{ref, title, source}), and writes them as a Markdown list: a web source as a link, a path as the
title with the path as code. Each surface turns the Markdown into its own dialect as it does the
rest of the answer (Slack's converter writes `<url|title>`; Discord and Teams read Markdown links).

Titles and sources come from documents, so they are untrusted: only http(s) sources become links,
and the characters that would break a link or add emphasis are neutralised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

HEADING = "**Sources**"
MAX_SOURCES = 20
_LINE = re.compile(r"^\s*(?:[-*]\s+)?\[(\d{1,3})\]:?\s+(\S.*?)\s*$")
_PART = re.compile(r"\s*\(part \d+\)$")
_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_UNSAFE = str.maketrans(
    {"[": "(", "]": ")", "*": "", "_": " ", "`": "'", "~": "", "<": "‹", ">": "›", "|": "/"}
)


@dataclass(frozen=True)
class Citation:
    ref: int
    title: str
    source: str  # a URL or a path; "" when the answer named none


def parse_line(line: str) -> Citation | None:
    """`[1] Guide, docs/guide.md (part 3)` → Citation(1, "Guide", "docs/guide.md")."""
    m = _LINE.match(line)
    if m is None:
        return None
    rest = _PART.sub("", m.group(2))
    title, sep, source = rest.rpartition(", ")
    if not sep:
        title, source = rest, ""
    return Citation(int(m.group(1)), title.strip() or source.strip(), source.strip())


def split(answer: str) -> tuple[str, tuple[Citation, ...]]:
    """The answer without its trailing citation lines, and those citations in order."""
    lines = answer.rstrip().split("\n")
    cited: list[Citation] = []
    while lines and (c := parse_line(lines[-1])) is not None:
        cited.append(c)
        lines.pop()
    if not cited or len(cited) > MAX_SOURCES:
        return answer, ()
    return "\n".join(lines).rstrip(), tuple(reversed(cited))


def from_payload(raw: Any) -> tuple[Citation, ...]:
    """Citations recorded with the answer (a `RunCompleted`'s `citations`), when there are any."""
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw[:MAX_SOURCES]:
        if isinstance(item, dict) and isinstance(item.get("ref"), int):
            out.append(Citation(item["ref"], str(item.get("title") or ""), str(item.get("source") or "")))
    return tuple(out)


def is_url(source: str) -> bool:
    return bool(_URL.match(source))


def line(c: Citation) -> str:
    """One source as a Markdown list item."""
    title = (c.title or c.source or "untitled").translate(_UNSAFE).strip() or "untitled"
    if is_url(c.source):
        url = quote(c.source, safe=":/?#@!$&'*+,;=%-._~")  # parentheses and spaces encoded
        return f"{c.ref}. [{title}]({url})"
    if c.source:
        path = c.source.replace("`", "'")
        return f"{c.ref}. {title} (`{path}`)"
    return f"{c.ref}. {title}"


def block(cited: tuple[Citation, ...]) -> str:
    return "\n".join([HEADING, *(line(c) for c in cited)])


def with_sources(answer: str, recorded: Any = None) -> str:
    """The answer with its citations as a Sources block; unchanged when it cites nothing."""
    body, written = split(answer)
    cited = from_payload(recorded) or written
    if not cited:
        return answer
    return f"{body}\n\n{block(cited)}" if body else block(cited)
