"""Model text → Discord markdown. Discord reads Markdown much as models write it, so prose passes
through; what could ping or impersonate is neutralised with a zero-width space: `@everyone`,
`@here`, user and role mentions (`<@123>`, `<@!123>`, `<@&123>`), and our own user placeholder
(`<sb-user:…>`, which the sink would otherwise turn into a real mention). Every message is also
sent with `allowed_mentions` empty, so even a mention that slipped through notifies nobody.

The result is a list of `Piece`s, code blocks kept apart from prose (with their language), so
`split` can cut long answers between paragraphs without ever cutting inside a code fence.
Code is left verbatim: Discord renders no mention inside a code block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ZWSP = "\u200b"
_BROADCAST = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_MENTION = re.compile(r"<@([!&]?\d+)>")
_PLACEHOLDER = re.compile(r"<sb-user:", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)\s*([\w+#.-]*)\s*$")


@dataclass(frozen=True)
class Piece:
    text: str  # prose ready to send, or a code block's body without its fences
    code: bool = False
    lang: str = ""  # a code block's language tag ("python"), kept on every part of it


def neutralise(text: str) -> str:
    """Plain text that can notify nobody and name nobody on Discord's behalf."""
    text = _PLACEHOLDER.sub("<sb" + _ZWSP + "-user:", text)
    text = _MENTION.sub(lambda m: "<@" + _ZWSP + m.group(1) + ">", text)
    return _BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def fence(body: str, lang: str = "") -> str:
    return f"```{lang}\n{body}\n```"


def fence_cost(lang: str = "") -> int:
    return len(fence("", lang))


def to_pieces(markdown: str) -> list[Piece]:
    """Prose paragraphs and code blocks, in order; prose neutralised, code verbatim."""
    pieces: list[Piece] = []
    prose: list[str] = []
    code: list[str] | None = None
    lang = ""
    for line in markdown.replace("\r\n", "\n").split("\n"):
        opener = _FENCE.match(line)
        if code is not None:
            if opener and not opener.group(2):
                pieces.append(Piece("\n".join(code), code=True, lang=lang))
                code = None
            else:
                code.append(line)
        elif opener:
            pieces.extend(_paragraphs(prose))
            prose, code, lang = [], [], opener.group(2)
        else:
            prose.append(line)
    if code is not None:  # an unterminated fence still holds code
        pieces.append(Piece("\n".join(code), code=True, lang=lang))
    pieces.extend(_paragraphs(prose))
    return pieces


def to_discord(markdown: str) -> str:
    """A short text (a card's prompt, say) as one Discord message body; no splitting."""
    return "\n\n".join(fence(p.text, p.lang) if p.code else p.text for p in to_pieces(markdown))


def _paragraphs(lines: list[str]) -> list[Piece]:
    text = neutralise("\n".join(lines)).strip("\n")
    return [Piece(p.strip("\n")) for p in re.split(r"\n\s*\n", text) if p.strip()]
