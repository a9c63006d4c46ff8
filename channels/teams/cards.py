"""Adaptive Cards for approvals and questions, and the lines their decided forms end with.

Buttons are `Action.Execute` (Universal Actions): a click reaches the bot as an
`adaptiveCard/action` invoke whose response only the clicker sees, so a refused click is
explained to that person alone. (`Action.Submit` would arrive as an ordinary message, and Teams
has no ephemeral messages: a refusal would have been shown to the whole conversation.) The
buttons carry only ids; the core decides who may decide.

Everything that came from a model (arguments, prompts, options) is escaped. The cards are the
story's (`channels.story.cards`), drawn in Teams' dialect, `TEAMS`.
"""

from __future__ import annotations

import time
from typing import Any

from channels.story.cards import ApprovalCard, Choice, Outcome, QuestionCard, Tone
from channels.story.dialect import EMOJI, Dialect
from channels.teams.markdown import escape, to_pieces
from channels.teams.profile import user_ref
from channels.text import clip, fence

APPROVE = "sb_approve"
DENY = "sb_deny"
ANSWER = "sb_answer"  # an option button: data {"question_id", "option": index}
ANSWER_TEXT = "sb_answer_text"  # "send my own answer": the text comes from the card's input
REASON_INPUT = "reason"
ANSWER_INPUT = "answer"
_TITLE_CHARS = 60
_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"

Card = dict[str, Any]
Element = dict[str, Any]


def card_date(ts: float) -> str:
    """A date Teams shows in each reader's own locale and time zone."""
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
    return f"{{{{DATE({iso}, SHORT)}}}} {{{{TIME({iso})}}}}"


TEAMS = Dialect(
    icons=EMOJI,
    escape=escape,
    strong="**",
    date=card_date,
    person=user_ref,
    code=lambda name: f"`{name}`",
    error_code=escape,
)
_APPROVAL_VERBS = {Choice.APPROVE: APPROVE, Choice.DENY: DENY}
_APPROVAL_STYLES = {Choice.APPROVE: "positive", Choice.DENY: "destructive"}


def approval_card(card: ApprovalCard, arg_chars: int) -> Card:
    data = {"approval_id": card.item_id}
    return _card(
        [
            _heading(card.title),
            text(card.intro),
            _arguments(card.arguments, arg_chars),
            text(card.rule, subtle=True),
            {
                "type": "Input.Text",
                "id": REASON_INPUT,
                "placeholder": "Reason (optional)",
                "isMultiline": True,
                "maxLength": 500,
            },
        ],
        [
            _execute(b.label, _APPROVAL_VERBS[b.choice], data, _APPROVAL_STYLES[b.choice])
            for b in card.buttons
        ],
    )


def outcome(told: Outcome) -> list[Element]:
    """Appended to the card (whose buttons and inputs the sink removes) once it is decided."""
    if told.tone is Tone.EXPIRED:
        return [text(told.line)]
    out = [text(told.line, weight="Bolder")]
    if told.reason is not None:
        out.append(text(told.reason))
    return out


def question_card(card: QuestionCard) -> Card:
    body = [
        _heading(card.title),
        *(text(fence(p.text) if p.code else p.text) for p in to_pieces(card.prompt)),
        text(card.rule, subtle=True),
    ]
    actions = [
        _execute(_title(b.label), ANSWER, {"question_id": b.item_id, "option": b.option})
        for b in card.buttons
    ]
    if card.free_text:
        body.append(
            {
                "type": "Input.Text",
                "id": ANSWER_INPUT,
                "placeholder": "Or answer in your own words",
                "maxLength": 2000,
            }
        )
        actions.append(_execute("Send my answer", ANSWER_TEXT, {"question_id": card.item_id}))
    return _card(body, actions)


def decided(card: Card, outcome: list[Element]) -> Card:
    """The card as everyone sees it once decided: no inputs, no buttons, the outcome below."""
    body = [e for e in card.get("body") or [] if not str(e.get("type", "")).startswith("Input.")]
    return {k: v for k, v in card.items() if k != "actions"} | {"body": body + outcome}


def notice(message: str) -> Card:
    return _card([text(message)], [])


def text(value: str, *, subtle: bool = False, weight: str | None = None) -> Element:
    block: Element = {"type": "TextBlock", "text": value, "wrap": True}
    if subtle:
        block["isSubtle"] = True
    if weight:
        block["weight"] = weight
    return block


def _arguments(arguments: tuple[tuple[str, str], ...], arg_chars: int) -> Element:
    if not arguments:
        return text("_(no arguments)_")
    facts = [{"title": escape(k), "value": _value(v, arg_chars)} for k, v in arguments]
    return {"type": "FactSet", "facts": facts}


def _value(value: str, limit: int) -> str:
    shown = clip(value, limit)
    return escape(shown) if shown else "(empty)"


def _title(option: str) -> str:
    return clip(option, _TITLE_CHARS)


def _heading(value: str) -> Element:
    return {"type": "TextBlock", "text": value, "size": "Medium", "weight": "Bolder", "wrap": True}


def _execute(title: str, verb: str, data: dict[str, Any], style: str | None = None) -> Element:
    action: Element = {"type": "Action.Execute", "title": title, "verb": verb, "data": data}
    if style:
        action["style"] = style
    return action


def _card(body: list[Element], actions: list[Element]) -> Card:
    card: Card = {"type": "AdaptiveCard", "$schema": _SCHEMA, "version": "1.4", "body": body}
    if actions:
        card["actions"] = actions
    return card
