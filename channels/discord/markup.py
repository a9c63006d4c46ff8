"""Model text → Discord markdown. Discord reads Markdown much as models write it, so prose passes
through; what could ping or impersonate is neutralised with a zero-width space: `@everyone`,
`@here`, user and role mentions (`<@123>`, `<@!123>`, `<@&123>`), and our own user placeholder
(`<sb-user:…>`, which the sink would otherwise turn into a real mention). Every message is also
sent with `allowed_mentions` empty, so even a mention that slipped through notifies nobody.

The result is a list of `Piece`s, code blocks kept apart from prose (with their language), so
the shared splitter (`channels.text`) can cut long answers without ever cutting inside a code
fence or a `<…>` token (a mention, a custom emoji, a timestamp). Code is left verbatim: Discord
renders no mention inside a code block.
"""

from __future__ import annotations

import re

from channels.text import Piece, Splitter, blocks, join, paragraphs

_ZWSP = "\u200b"
_BROADCAST = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_MENTION = re.compile(r"<@([!&]?\d+)>")
_PLACEHOLDER = re.compile(r"<sb-user:", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)\s*(?P<lang>[\w+#.-]*)\s*$")
_SPLITTER = Splitter(tokens=re.compile(r"<[^<>\s]*>|[^\s<]+|\s+|<"), min_limit=40)


def neutralise(text: str) -> str:
    """Plain text that can notify nobody and name nobody on Discord's behalf."""
    text = _PLACEHOLDER.sub("<sb" + _ZWSP + "-user:", text)
    text = _MENTION.sub(lambda m: "<@" + _ZWSP + m.group(1) + ">", text)
    return _BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def to_pieces(markdown: str) -> list[Piece]:
    """Prose paragraphs and code blocks, in order; prose neutralised, code verbatim."""
    pieces: list[Piece] = []
    for block in blocks(markdown, _FENCE):
        if block.code:
            pieces.append(Piece("\n".join(block.lines), code=True, lang=block.lang))
        else:
            pieces.extend(paragraphs([neutralise(line) for line in block.lines]))
    return pieces


def to_discord(markdown: str) -> str:
    """A short text (a card's prompt, say) as one Discord message body; no splitting."""
    return join(to_pieces(markdown))


def split_markdown(markdown: str, limit: int) -> list[str]:
    """The answer as Discord messages of at most `limit` characters each, losing nothing."""
    return _SPLITTER.pack(to_pieces(markdown), limit)
