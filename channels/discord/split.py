"""Cutting a long answer into Discord messages of at most 2,000 characters, losing nothing.

Pieces are packed greedily. Prose that does not fit is cut at a paragraph, then a line, then a
word; a code block moves whole to the next message, and only a block longer than one message is
cut, between lines, into several fenced blocks that each keep the language tag. A cut never
falls inside a `<…>` token (a mention, a custom emoji, a timestamp).

Slack's `channels/slack/split.py` follows the same plan, but its tokens (`&amp;` entities,
`<url|text>` links) and fences (no language) are mrkdwn's, so the two share the plan, not code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from channels.discord.markup import Piece, fence, fence_cost, to_pieces

_TOKENS = re.compile(r"<[^<>\s]*>|[^\s<]+|\s+|<")
_MIN_LIMIT = 40


def split_markdown(markdown: str, limit: int) -> list[str]:
    """The answer as Discord messages of at most `limit` characters each."""
    return pack(to_pieces(markdown), limit)


def pack(pieces: list[Piece], limit: int) -> list[str]:
    if limit < _MIN_LIMIT:
        raise ValueError(f"a message limit of {limit} is too small")
    messages: list[str] = []
    current = ""
    for part in _parts(pieces, limit):
        joined = f"{current}\n\n{part}" if current else part
        if len(joined) <= limit:
            current = joined
            continue
        if current:
            messages.append(current)
        current = part
    if current:
        messages.append(current)
    return messages


def _parts(pieces: list[Piece], limit: int) -> Iterator[str]:
    """Every piece as one or more texts that each fit in a message on their own."""
    for piece in pieces:
        if piece.code:
            lang = piece.lang if fence_cost(piece.lang) <= limit // 2 else ""
            for body in _cut(piece.text, limit - fence_cost(lang)):
                yield fence(body, lang)
        else:
            yield from _cut(piece.text, limit)


def _cut(text: str, limit: int) -> Iterator[str]:
    """Lines packed up to `limit`; a line too long on its own is cut between words."""
    current: str | None = None
    for line in text.split("\n"):
        for piece in [line] if len(line) <= limit else list(_cut_words(line, limit)):
            joined = piece if current is None else f"{current}\n{piece}"
            if len(joined) <= limit:
                current = joined
                continue
            if current is not None:
                yield current
            current = piece
    if current:
        yield current


def _cut_words(line: str, limit: int) -> Iterator[str]:
    current = ""
    for token in _TOKENS.findall(line):
        while len(token) > limit:  # a single "word" longer than a message: cut it anywhere
            room = limit - len(current)
            if room <= 0:
                yield current
                current, room = "", limit
            current += token[:room]
            token = token[room:]
        if len(current) + len(token) > limit:
            yield current
            current = "" if token.isspace() else token
        else:
            current += token
    if current:
        yield current
