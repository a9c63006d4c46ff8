"""Block Kit cards for approvals and questions, and their decided forms (no buttons).

Everything that came from a model (arguments, prompts, options) is escaped; the buttons carry
only ids, so a click names what it decides and the core checks who may decide it.
"""

from __future__ import annotations

import time
from typing import Any

from channels.slack.mrkdwn import escape, to_mrkdwn
from channels.slack.profile import user_ref
from channels.text import argument_text, clip

APPROVE = "sb_approve"
DENY = "sb_deny"
ANSWER = "sb_answer"  # option buttons: action_id "sb_answer:<index>", value "<question id>:<index>"
ANSWER_TEXT = "sb_answer_text"  # "answer in my own words": opens a modal
_SECTION_CHARS = 3000
_BUTTON_CHARS = 75
_BUTTONS_PER_ROW = 25
_FIELDS = 10

Block = dict[str, Any]


def slack_date(ts: float) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def approval_card(payload: dict[str, Any], arg_chars: int) -> list[Block]:
    tool = escape(str(payload.get("tool", "")))
    tier = str(payload.get("tier", "user"))
    who = (
        "Only a workspace admin can decide."
        if tier == "admin"
        else f"Only {user_ref(payload.get('requester'))} can decide."
    )
    expires = payload.get("expires_at")
    until = f" Expires {slack_date(float(expires))}." if isinstance(expires, int | float) else ""
    approval_id = str(payload["approval_id"])
    return [
        _header("Approval needed"),
        section(f"The assistant wants to run *{tool}* with:"),
        *_arguments(payload.get("args"), arg_chars),
        _context(f"Tier: *{escape(tier)}* · {who}{until}"),
        {
            "type": "actions",
            "block_id": f"approval:{approval_id}",
            "elements": [
                _button("Approve", APPROVE, approval_id, "primary"),
                _button("Deny", DENY, approval_id, "danger"),
            ],
        },
    ]


def approval_outcome(payload: dict[str, Any], at: float) -> list[Block]:
    """Appended to the card (whose buttons the dispatcher removes) once the decision is made."""
    decision = str(payload.get("decision", ""))
    reason = payload.get("reason")
    if decision == "expired":
        line = f":hourglass: Expired at {slack_date(at)}: nobody decided in time."
    else:
        icon = ":white_check_mark:" if decision == "approved" else ":no_entry_sign:"
        line = f"{icon} {escape(decision.capitalize())} by {user_ref(payload.get('by'))} at {slack_date(at)}"
        if reason:
            line += f"\nReason: {escape(str(reason))[:500]}"
    return [section(line)]


def question_card(payload: dict[str, Any]) -> list[Block]:
    question_id = str(payload["question_id"])
    options = [str(o) for o in payload.get("options") or []]
    buttons = [_button(_label(o), f"{ANSWER}:{i}", f"{question_id}:{i}") for i, o in enumerate(options)]
    if payload.get("allow_free_text"):
        buttons.append(_button("Answer in my own words…", ANSWER_TEXT, question_id))
    rows = [buttons[i : i + _BUTTONS_PER_ROW] for i in range(0, len(buttons), _BUTTONS_PER_ROW)]
    listed = (
        [section("\n".join(f"{i + 1}. {escape(o)}" for i, o in enumerate(options)))]
        if any(len(o) > _BUTTON_CHARS for o in options)
        else []
    )
    return [
        _header("Question"),
        section(to_mrkdwn(str(payload.get("prompt", "")))),
        *listed,
        _context(f"Only {user_ref(payload.get('asked_of'))} can answer."),
        *(
            {"type": "actions", "block_id": f"question:{question_id}:{n}", "elements": row}
            for n, row in enumerate(rows)
        ),
    ]


def question_outcome(payload: dict[str, Any], at: float, *, expired: bool = False) -> list[Block]:
    if expired:
        return [section(f":hourglass: Expired at {slack_date(at)}: nobody answered in time.")]
    answer = escape(str(payload.get("answer", "")))[:1000]
    return [
        section(f":speech_balloon: {user_ref(payload.get('by'))} answered *{answer}* at {slack_date(at)}")
    ]


def _arguments(args: Any, arg_chars: int) -> list[Block]:
    if not isinstance(args, dict) or not args:
        return [section("_(no arguments)_")]
    fields = [
        {"type": "mrkdwn", "text": f"*{escape(str(k))}*\n{_value(v, arg_chars)}"} for k, v in args.items()
    ]
    return [{"type": "section", "fields": fields[i : i + _FIELDS]} for i in range(0, len(fields), _FIELDS)]


def _value(value: Any, limit: int) -> str:
    text = clip(argument_text(value), limit)
    return escape(text) if text else "_(empty)_"


def _label(option: str) -> str:
    return clip(option, _BUTTON_CHARS)


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, _SECTION_CHARS)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
