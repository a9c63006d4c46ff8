"""Adaptive Cards for approvals and questions, and the lines their decided forms end with.

Buttons are `Action.Execute` (Universal Actions): a click reaches the bot as an
`adaptiveCard/action` invoke whose response only the clicker sees, so a refused click is
explained to that person alone. (`Action.Submit` would arrive as an ordinary message, and Teams
has no ephemeral messages: a refusal would have been shown to the whole conversation.) The
buttons carry only ids; the core decides who may decide.

Everything that came from a model (arguments, prompts, options) is escaped.
"""

from __future__ import annotations

import time
from typing import Any

from channels.teams.markdown import escape, to_pieces
from channels.teams.profile import user_ref
from channels.text import argument_text, clip, fence

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


def approval_card(payload: dict[str, Any], arg_chars: int) -> Card:
    approval_id = str(payload["approval_id"])
    tier = str(payload.get("tier", "user"))
    who = (
        "Only an admin can decide."
        if tier == "admin"
        else f"Only {user_ref(payload.get('requester'))} can decide."
    )
    expires = payload.get("expires_at")
    until = f" Expires {card_date(float(expires))}." if isinstance(expires, int | float) else ""
    data = {"approval_id": approval_id}
    return _card(
        [
            _heading("Approval needed"),
            text(f"The assistant wants to run **{escape(str(payload.get('tool', '')))}** with:"),
            _arguments(payload.get("args"), arg_chars),
            text(f"Tier: **{escape(tier)}** · {who}{until}", subtle=True),
            {
                "type": "Input.Text",
                "id": REASON_INPUT,
                "placeholder": "Reason (optional)",
                "isMultiline": True,
                "maxLength": 500,
            },
        ],
        [_execute("Approve", APPROVE, data, "positive"), _execute("Deny", DENY, data, "destructive")],
    )


def approval_outcome(payload: dict[str, Any], at: float) -> list[Element]:
    """Appended to the card (whose buttons and inputs the sink removes) once it is decided."""
    decision = str(payload.get("decision", ""))
    if decision == "expired":
        return [text(f"⌛ Expired at {card_date(at)}: nobody decided in time.")]
    icon = "✅" if decision == "approved" else "🚫"
    line = f"{icon} {escape(decision.capitalize())} by {user_ref(payload.get('by'))} at {card_date(at)}"
    reason = payload.get("reason")
    out = [text(line, weight="Bolder")]
    if reason:
        out.append(text(f"Reason: {escape(str(reason))[:500]}"))
    return out


def question_card(payload: dict[str, Any]) -> Card:
    question_id = str(payload["question_id"])
    options = [str(o) for o in payload.get("options") or []]
    body = [
        _heading("Question"),
        *(text(fence(p.text) if p.code else p.text) for p in to_pieces(str(payload.get("prompt", "")))),
        text(f"Only {user_ref(payload.get('asked_of'))} can answer.", subtle=True),
    ]
    actions = [
        _execute(_title(o), ANSWER, {"question_id": question_id, "option": i}) for i, o in enumerate(options)
    ]
    if payload.get("allow_free_text"):
        body.append(
            {
                "type": "Input.Text",
                "id": ANSWER_INPUT,
                "placeholder": "Or answer in your own words",
                "maxLength": 2000,
            }
        )
        actions.append(_execute("Send my answer", ANSWER_TEXT, {"question_id": question_id}))
    return _card(body, actions)


def question_outcome(payload: dict[str, Any], at: float, *, expired: bool = False) -> list[Element]:
    if expired:
        return [text(f"⌛ Expired at {card_date(at)}: nobody answered in time.")]
    answer = escape(str(payload.get("answer", "")))[:1000]
    return [
        text(f"💬 {user_ref(payload.get('by'))} answered **{answer}** at {card_date(at)}", weight="Bolder")
    ]


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


def _arguments(args: Any, arg_chars: int) -> Element:
    if not isinstance(args, dict) or not args:
        return text("_(no arguments)_")
    facts = [{"title": escape(str(k)), "value": _value(v, arg_chars)} for k, v in args.items()]
    return {"type": "FactSet", "facts": facts}


def _value(value: Any, limit: int) -> str:
    shown = clip(argument_text(value), limit)
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
