"""Splitting a document on its structure: Markdown sections by heading (markdown-it-py finds
them), then each section's body by paragraphs and sentences to a size (semantic-text-splitter);
PDF page by page; plain text by paragraphs. Each chunk keeps its title path ("Guide > Setup >
Slack") and its position in the document."""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from semantic_text_splitter import MarkdownSplitter, TextSplitter

from knowledge.reader import ParsedDocument

DEFAULT_CAPACITY = (300, 1200)  # characters: aim for at least 300, never over 1,200
_md = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Chunk:
    position: int
    title_path: str
    text: str


def chunk_document(doc: ParsedDocument, capacity: tuple[int, int] = DEFAULT_CAPACITY) -> list[Chunk]:
    if doc.format == "markdown":
        pieces = _markdown(doc.title, doc.text, capacity)
    elif doc.format == "pdf":
        splitter = TextSplitter(capacity)
        pieces = [
            (f"{doc.title} > page {n}", part)
            for n, page in enumerate(doc.text.split("\f"), start=1)
            for part in splitter.chunks(page)
        ]
    else:
        pieces = [(doc.title, part) for part in TextSplitter(capacity).chunks(doc.text)]
    return [
        Chunk(position, path[:1000], text)
        for position, (path, text) in enumerate((p, t.strip()) for p, t in pieces if t.strip())
    ]


def _markdown(title: str, text: str, capacity: tuple[int, int]) -> list[tuple[str, str]]:
    lines = text.splitlines()
    headings: list[tuple[int, int, int, str]] = []  # (start line, end line, level, text)
    tokens = _md.parse(text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            level = int(token.tag[1])
            inline = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            headings.append((token.map[0], token.map[1], level, inline))
    splitter = MarkdownSplitter(capacity)
    sections: list[tuple[str, str]] = []
    path: list[tuple[int, str]] = []
    starts = [*headings, (len(lines), len(lines), 0, "")]
    body_start = 0
    for start, end, level, heading in starts:
        body = "\n".join(lines[body_start:start])
        trail = [h for _, h in path]
        if not trail or trail[0] != title:
            trail = [title, *trail]
        sections.extend((" > ".join(trail), part) for part in splitter.chunks(body))
        if level:
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, heading)]
        body_start = end
    return sections
