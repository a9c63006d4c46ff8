"""Markdown (what models write) → Slack mrkdwn, with everything that could ping or inject markup
neutralised.

Slack reads `<…>` as control sequences (`<!channel>`, `<@U…>`, `<url|text>`), so every `&`, `<`
and `>` from model text is escaped, and a literal `@channel`, `@here` or `@everyone` gets a zero
width space so it can never notify a room. Only the links we build from Markdown `[text](url)`
come out as `<url|text>`.

The result is a list of `Piece`s, code blocks kept apart from prose, so the shared splitter
(`channels.text`) can cut long answers without ever cutting inside a code fence, an `&amp;`
entity or a `<url|text>` link.
"""

from __future__ import annotations

import re

from channels.text import Piece, Splitter, blocks, fence, join, paragraphs

_ZWSP = "\u200b"
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_PRIVATE = re.compile("[\ue000-\ue0ff]")  # our placeholder range; never taken from input
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,9})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_SPLITTER = Splitter(
    tokens=re.compile(r"<[^<>\n]*>|&[a-z]+;|[^\s<&]+|\s+|[<&]"), min_limit=2 * len(fence(""))
)


def escape(text: str) -> str:
    """Plain text made safe for any mrkdwn field: no control sequences, no broadcast pings."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def to_pieces(markdown: str) -> list[Piece]:
    """Prose paragraphs and code blocks, in order, each converted to mrkdwn."""
    pieces: list[Piece] = []
    for block in blocks(_PRIVATE.sub("", markdown), _FENCE):
        if block.code:
            pieces.append(Piece(escape("\n".join(block.lines)), code=True))
        else:
            pieces.extend(paragraphs([_line(line) for line in block.lines]))
    return pieces


def to_mrkdwn(markdown: str) -> str:
    return join(to_pieces(markdown))


def split_markdown(markdown: str, limit: int) -> list[str]:
    """The answer as mrkdwn messages of at most `limit` characters each, losing nothing."""
    return _SPLITTER.pack(to_pieces(markdown), limit)


def _line(line: str) -> str:
    if _RULE.match(line):
        return "──────────"
    if m := _HEADING.match(line):
        return f"*{_inline(m.group(1))}*" if m.group(1) else ""
    if m := _BULLET.match(line):
        return f"{m.group(1)}• {_inline(m.group(2))}"
    if m := _NUMBERED.match(line):
        return f"{m.group(1)}{m.group(2)}. {_inline(m.group(3))}"
    if m := _QUOTE.match(line):
        return f">{_inline(m.group(1))}"  # a literal ">" at line start is Slack's quote
    return _inline(line)


def _inline(text: str) -> str:
    """One line of prose: code spans kept verbatim (escaped), links built, emphasis converted."""
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"\ue000{len(held) - 1}\ue001"

    text = _CODE_SPAN.sub(lambda m: hold(f"`{escape(m.group(2))}`"), text)
    text = _LINK.sub(lambda m: hold(_link(m.group(1), m.group(2))), text)
    text = escape(text)
    text = _BOLD.sub(lambda m: "\ue002" + (m.group(1) or m.group(2)) + "\ue002", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text).replace("\ue002", "*")
    return re.sub("\ue000(\\d+)\ue001", lambda m: held[int(m.group(1))], text)


def _link(label: str, url: str) -> str:
    label = escape(label)
    if not url.lower().startswith(_SAFE_SCHEMES):
        return f"{label} ({escape(url)})" if label != escape(url) else label
    safe_url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace("&", "&amp;")
    return f"<{safe_url}|{label}>"
