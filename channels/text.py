"""An answer as pieces, and the one plan every chat surface uses to cut it into messages.

Each surface turns model Markdown into `Piece`s its own way (escaping, mentions, what a table
becomes), from the same `blocks`: runs of prose and fenced code blocks. Cutting them to a
platform's message limit is the same everywhere, losing nothing: pieces are packed greedily;
prose that does not fit is cut at a paragraph, then a line, then a word; a code block moves whole
to the next message, and only a block longer than one message is cut, between lines, into
several fenced blocks that each keep the language tag. A cut never falls inside one of the
surface's tokens (a Slack `<url|text>` link, an `&amp;` entity, a Discord `<@123>` mention): the
surface says what those look like (`Splitter`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Piece:
    text: str  # prose ready to send, or a code block's body without its fences
    code: bool = False
    lang: str = ""  # a code block's language tag ("python"), kept on every part of it


@dataclass(frozen=True)
class Block:
    lines: list[str] = field(default_factory=list)
    code: bool = False
    lang: str = ""  # what followed a code block's opening fence, where the pattern has a `lang` group


def blocks(markdown: str, opening: re.Pattern[str]) -> Iterator[Block]:
    """The lines of `markdown` in runs, in order: prose, and the body of each fenced code block.
    `opening` matches a line that opens a block (```` ``` ```` or `~~~`, say); the block closes
    at a line that matches it and holds nothing but the fence, or else runs to the end."""
    prose: list[str] = []
    code: list[str] | None = None
    lang = ""
    for line in markdown.replace("\r\n", "\n").split("\n"):
        fence_line = opening.match(line)
        if code is None and fence_line:
            yield Block(prose)
            prose, code, lang = [], [], fence_line.groupdict().get("lang") or ""
        elif code is None:
            prose.append(line)
        elif fence_line and not line.strip().strip("`~"):
            yield Block(code, code=True, lang=lang)
            code = None
        else:
            code.append(line)
    if code is not None:  # an unterminated fence still holds code
        yield Block(code, code=True, lang=lang)
    yield Block(prose)


def fence(body: str, lang: str = "") -> str:
    return f"```{lang}\n{body}\n```"


def paragraphs(lines: list[str]) -> list[Piece]:
    """Lines of prose cut at their blank lines."""
    text = "\n".join(lines).strip("\n")
    return [Piece(p.strip("\n")) for p in re.split(r"\n\s*\n", text) if p.strip()]


def join(pieces: Iterable[Piece]) -> str:
    """A short text (a card's prompt, say) as one message body; no splitting."""
    return "\n\n".join(fence(p.text, p.lang) if p.code else p.text for p in pieces)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in "…" where it was cut (a button, a card field)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def argument_text(value: Any) -> str:
    """A tool argument as a card shows it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Splitter:
    """How one surface cuts: `tokens` matches, in order of preference, the tokens a cut must
    not fall inside, then words, then runs of white space, then any single character left."""

    tokens: re.Pattern[str]
    min_limit: int  # below this, fences and tokens leave no room for text

    def pack(self, pieces: Iterable[Piece], limit: int) -> list[str]:
        """The pieces as messages of at most `limit` characters each."""
        if limit < self.min_limit:
            raise ValueError(f"a message limit of {limit} is too small")
        messages: list[str] = []
        current = ""
        for part in self._parts(pieces, limit):
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

    def _parts(self, pieces: Iterable[Piece], limit: int) -> Iterator[str]:
        """Every piece as one or more texts that each fit in a message on their own."""
        for piece in pieces:
            if piece.code:
                lang = piece.lang if len(fence("", piece.lang)) <= limit // 2 else ""
                for body in self._cut(piece.text, limit - len(fence("", lang))):
                    yield fence(body, lang)
            else:
                yield from self._cut(piece.text, limit)

    def _cut(self, text: str, limit: int) -> Iterator[str]:
        """Lines packed up to `limit`; a line too long on its own is cut between words."""
        current: str | None = None
        for line in text.split("\n"):
            for piece in [line] if len(line) <= limit else list(self._cut_words(line, limit)):
                joined = piece if current is None else f"{current}\n{piece}"
                if len(joined) <= limit:
                    current = joined
                    continue
                if current is not None:
                    yield current
                current = piece
        if current:
            yield current

    def _cut_words(self, line: str, limit: int) -> Iterator[str]:
        current = ""
        for token in self.tokens.findall(line):
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
