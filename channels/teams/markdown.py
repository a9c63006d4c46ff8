"""Markdown (what models write) → the Markdown subset Teams renders in a message, with anything
that could look like a mention or inject markup neutralised.

Teams renders bold, italics, strikethrough, headings up to level 3, lists, quotes, links, inline
code and fenced code. It shows tables' pipes and deeper headings raw, and reads HTML: so a table
becomes a code block (its columns stay aligned), a level 4–6 heading a bold line, an image a
link, and every `<` and `>` in prose an entity. A model-written `<at>Name</at>` therefore shows as
text (a real mention also needs an entity, which only we could add), and `@channel`, `@team`,
`@everyone` and `@here` get a zero-width space so they never read as a mention either.

The result is a list of `Piece`s, code blocks kept apart from prose, for the shared splitter
(`channels.text`), which never cuts inside a code fence or an `&lt;` entity.
"""

from __future__ import annotations

import re

from channels.text import Piece, Splitter, blocks, fence, join, paragraphs

_ZWSP = "\u200b"
_BROADCAST = re.compile(r"@(channel|team|everyone|here)\b", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_DEEP_HEADING = re.compile(r"^\s{0,3}#{4,6}\s+(.*?)\s*#*\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"(!?)\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_SPLITTER = Splitter(
    tokens=re.compile(r"<[^<>\n]*>|&[a-z]+;|[^\s<&]+|\s+|[<&]"), min_limit=2 * len(fence(""))
)


def escape(text: str) -> str:
    """Plain text made safe for a Teams message: no HTML, no mention lookalikes."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def to_pieces(markdown: str) -> list[Piece]:
    """Prose paragraphs and code blocks (tables included), in order, ready for Teams."""
    pieces: list[Piece] = []
    for block in blocks(markdown, _FENCE):
        if block.code:
            pieces.append(Piece("\n".join(block.lines), code=True))
        else:
            pieces.extend(_prose(block.lines))
    return pieces


def _prose(lines: list[str]) -> list[Piece]:
    """Paragraphs, with each table (a header row, then a rule) as a code block of its own."""
    pieces: list[Piece] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _TABLE_ROW.match(line) and i < len(lines) and _TABLE_RULE.match(lines[i]):
            table = [line]
            while i < len(lines) and (_TABLE_ROW.match(lines[i]) or _TABLE_RULE.match(lines[i])):
                table.append(lines[i])
                i += 1
            pieces.extend(paragraphs(prose))
            prose = []
            pieces.append(Piece("\n".join(table), code=True))
        else:
            prose.append(_line(line))
    pieces.extend(paragraphs(prose))
    return pieces


def to_teams(markdown: str) -> str:
    """A short text (a card's prompt, say) as one Teams message body; no splitting."""
    return join(to_pieces(markdown))


def split_markdown(markdown: str, limit: int) -> list[str]:
    """The answer in Teams Markdown as messages of at most `limit` characters, losing nothing."""
    return _SPLITTER.pack(to_pieces(markdown), limit)


def _line(line: str) -> str:
    if m := _DEEP_HEADING.match(line):
        return f"**{_inline(m.group(1))}**" if m.group(1) else ""
    return _inline(line)


def _inline(text: str) -> str:
    """One line of prose: code spans and links kept (their text escaped), the rest escaped."""
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"\ue000{len(held) - 1}\ue001"

    text = re.sub("[\ue000-\ue0ff]", "", text)  # our placeholder range; never taken from input
    text = _CODE_SPAN.sub(lambda m: hold(f"{m.group(1)}{m.group(2)}{m.group(1)}"), text)
    text = _LINK.sub(lambda m: hold(_link(m.group(2), m.group(3))), text)
    text = escape(text)
    return re.sub("\ue000(\\d+)\ue001", lambda m: held[int(m.group(1))], text)


def _link(label: str, url: str) -> str:
    label = escape(label)
    if not url.lower().startswith(_SAFE_SCHEMES):
        return f"{label} ({escape(url)})" if label != escape(url) else label
    return f"[{label}]({url.replace('(', '%28').replace(')', '%29').replace(' ', '%20')})"
