"""Reading a document: its bytes become text, or a clear reason why not (never a traceback).

Markdown and plain text must be UTF-8; HTML is reduced to Markdown-like text (headings kept, so
the chunker can follow them; scripts and styles dropped); PDF text is extracted page by page with
pypdf. Binary files, empty files, files over the size cap, encrypted or unreadable PDFs are
refused with `Unreadable`.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from knowledge.formats import FORMATS, format_of

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class Unreadable(Exception):
    """A document that cannot be ingested; its message says why, for the person who added it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ParsedDocument:
    source: str
    title: str
    format: str  # markdown | text | pdf (HTML arrives as markdown)
    text: str  # for pdf: pages separated by form feeds
    content_hash: str  # of the bytes read


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise Unreadable(f"the file is {_size(size)}, over the {_size(max_bytes)} cap")


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} kB" if n >= 1000 else f"{n} bytes"


def parse(source: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Parse `data`, read from `source` (a path or URL, whose suffix names the format)."""
    kind = format_of(source)
    if kind is None:
        raise Unreadable(f"unsupported file type {PurePath(source).suffix or '(none)'}; "
                         f"supported: {', '.join(sorted(FORMATS))}")  # fmt: skip
    check_size(len(data), max_bytes)
    if not data.strip():
        raise Unreadable("the file is empty")
    digest = content_hash(data)
    fallback_title = PurePath(source).stem or source
    if kind == "pdf":
        title, body = _pdf(data)
        return ParsedDocument(source, title or fallback_title, "pdf", body, digest)
    decoded = _utf8(data)
    if kind == "html":
        title, body = html_to_markdown(decoded)
        if not body.strip():
            raise Unreadable("the HTML page has no text")
        return ParsedDocument(source, title or fallback_title, "markdown", body, digest)
    title = _first_heading(decoded) if kind == "markdown" else None
    return ParsedDocument(source, title or fallback_title, kind, decoded, digest)


def _utf8(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise Unreadable("this is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it to UTF-8 and add it again"
        ) from None


def _first_heading(text: str) -> str | None:
    for line in text.splitlines()[:50]:
        if line.startswith("# "):
            return line[2:].strip()[:500] or None
    return None


def _pdf(data: bytes) -> tuple[str | None, str]:
    if not data.startswith(b"%PDF"):
        raise Unreadable("this is not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("the PDF is encrypted; add a decrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except Unreadable:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        # pypdf raises more than its own errors on a damaged file.
        raise Unreadable(f"the PDF cannot be read: {type(exc).__name__}: {exc}"[:500]) from None
    if not any(p.strip() for p in pages):
        raise Unreadable("the PDF has no extractable text (a scan needs OCR first)")
    return (str(title).strip()[:500] if title else None), "\f".join(pages)


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset({"p", "div", "li", "br", "tr", "section", "article", "pre", "blockquote", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self.out.append("\n\n" if tag != "li" else "\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or tag in self._BLOCK:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.out.append(" ".join(data.split()) + (" " if data[-1:].isspace() else ""))


def html_to_markdown(html: str) -> tuple[str | None, str]:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    title = " ".join("".join(parser.title).split())[:500] or None
    return title, text.strip()
