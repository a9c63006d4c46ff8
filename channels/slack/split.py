"""Cutting a long mrkdwn answer into messages that fit Slack's limits, losing nothing.

Pieces are packed greedily. Prose that does not fit is cut at a paragraph, then a line, then a
word; a code block moves whole to the next message, and only a block longer than one message is
cut, between lines, into several fenced blocks. A cut never falls inside an `&amp;` entity or a
`<url|text>` link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from channels.slack.mrkdwn import Piece, fence, to_pieces

_FENCE_COST = len(fence(""))
_TOKENS = re.compile(r"<[^<>\n]*>|&[a-z]+;|[^\s<&]+|\s+|[<&]")


def split_markdown(markdown: str, limit: int) -> list[str]:
    """The answer as mrkdwn messages of at most `limit` characters each."""
    return pack(to_pieces(markdown), limit)


def pack(pieces: list[Piece], limit: int) -> list[str]:
    if limit < 2 * _FENCE_COST:
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
            for body in _cut(piece.text, limit - _FENCE_COST, "\n"):
                yield fence(body)
        else:
            yield from _cut(piece.text, limit, "\n")


def _cut(text: str, limit: int, separator: str) -> Iterator[str]:
    """Lines packed up to `limit`; a line too long on its own is cut between words."""
    current = ""
    for line in text.split(separator):
        pieces = [line] if len(line) <= limit else list(_cut_words(line, limit))
        for piece in pieces:
            joined = f"{current}{separator}{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
                continue
            if current:
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
