"""Approval and question cards: an embed that says what is asked and who may decide, and buttons
whose custom ids carry only the item's id and the choice, so a click names what it decides (even
after a restart, with no view kept in memory) and the core checks who may decide it.

    sb:appr:<approval id>:approve | sb:appr:<approval id>:deny
    sb:q:<question id>:<option index>

Everything that came from a model (arguments, prompts, options) is neutralised. The cards are the
story's (`channels.story.cards`), drawn in Discord's dialect, `DISCORD`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.discord.markup import neutralise, to_discord
from channels.discord.profile import user_ref
from channels.story.cards import ApprovalCard, Choice, Outcome, QuestionCard, Tone
from channels.story.dialect import EMOJI, Dialect, Icon
from channels.text import clip

APPROVAL_PREFIX = "sb:appr:"
QUESTION_PREFIX = "sb:q:"
_BLURPLE, _GREEN, _RED, _GREY = 0x5865F2, 0x57F287, 0xED4245, 0x99AAB5
_PRIMARY, _SECONDARY, _SUCCESS, _DANGER = 1, 2, 3, 4
_LABEL_CHARS = 80
_BUTTONS_PER_ROW = 5
_ROWS = 5
_FIELDS = 25
_FIELD_CHARS = 1024
_DESCRIPTION_CHARS = 4096

Json = dict[str, Any]


@dataclass(frozen=True)
class Click:
    kind: str  # "approval" | "question"
    item_id: str
    choice: str  # "approve" | "deny" | an option's index


def parse_custom_id(custom_id: str) -> Click | None:
    """The click a button's custom id stands for; None for buttons that are not ours."""
    for prefix, kind in ((APPROVAL_PREFIX, "approval"), (QUESTION_PREFIX, "question")):
        if custom_id.startswith(prefix):
            item_id, _, choice = custom_id[len(prefix) :].rpartition(":")
            if item_id and choice:
                return Click(kind, item_id, choice)
    return None


def timestamp(ts: float) -> str:
    """A date Discord shows in each reader's own time zone."""
    return f"<t:{int(ts)}:f>"


DISCORD = Dialect(
    icons=EMOJI | {Icon.TOOL: "🔎", Icon.TOOL_UNKNOWN: "⚙️"},
    escape=neutralise,
    strong="**",
    date=timestamp,
    person=user_ref,
    code=lambda name: f"`{neutralise(name)}`",
    error_code=lambda code: f"`{neutralise(code)}`",
    expired_at="",  # "Expired <t:…>": Discord's timestamp reads on its own
)
_APPROVAL_STYLES = {Choice.APPROVE: _SUCCESS, Choice.DENY: _DANGER}
_TONES = {Tone.APPROVED: _GREEN, Tone.ANSWERED: _GREEN, Tone.DENIED: _RED, Tone.EXPIRED: _GREY}


def approval_card(card: ApprovalCard, arg_chars: int) -> Json:
    embed = {
        "title": card.title,
        "description": card.intro,
        "color": _BLURPLE,
        "fields": _arguments(card.arguments, arg_chars) + [{"name": "Who decides", "value": card.rule}],
    }
    buttons = [
        _button(b.label, f"{APPROVAL_PREFIX}{b.item_id}:{b.choice}", _APPROVAL_STYLES[b.choice])
        for b in card.buttons
    ]
    return {"content": card.summary, "embeds": [embed], "components": [_row(buttons)]}


def outcome(told: Outcome) -> Json:
    """The embed added to the card (whose buttons the sink removes) once it is decided."""
    line = told.line if told.reason is None else f"{told.line}\n{told.reason}"
    return {"description": line, "color": _TONES[told.tone]}


def question_card(card: QuestionCard) -> Json:
    room = _BUTTONS_PER_ROW * _ROWS
    buttons = [
        _button(_label(b.label), f"{QUESTION_PREFIX}{b.item_id}:{b.option}", _PRIMARY) for b in card.buttons
    ]
    listed = "\n".join(f"{i + 1}. {neutralise(o)}" for i, o in enumerate(card.options))
    long_options = any(len(o) > _LABEL_CHARS for o in card.options) or len(card.options) > room
    embed = {
        "title": card.title,
        "description": clip(
            to_discord(card.prompt) + (f"\n\n{listed}" if long_options else ""),
            _DESCRIPTION_CHARS,
        ),
        "color": _BLURPLE,
        "fields": [{"name": "Who answers", "value": card.rule}],
    }
    rows = [
        _row(buttons[i : i + _BUTTONS_PER_ROW]) for i in range(0, min(len(buttons), room), _BUTTONS_PER_ROW)
    ]
    return {
        "content": clip(f"Question: {neutralise(card.asked)}", 150),
        "embeds": [embed],
        "components": rows,
    }


def _arguments(arguments: tuple[tuple[str, str], ...], arg_chars: int) -> list[Json]:
    if not arguments:
        return [{"name": "Arguments", "value": "*(none)*"}]
    fields = [
        {
            "name": clip(neutralise(k), 256),
            "value": _value(v, min(arg_chars, _FIELD_CHARS)),
            "inline": True,
        }
        for k, v in arguments
    ]
    return fields[: _FIELDS - 1]


def _value(text: str, limit: int) -> str:
    return clip(neutralise(text), limit) if text else "*(empty)*"


def _label(option: str) -> str:
    return clip(option, _LABEL_CHARS)


def _button(label: str, custom_id: str, style: int) -> Json:
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}


def _row(buttons: list[Json]) -> Json:
    return {"type": 1, "components": buttons}
