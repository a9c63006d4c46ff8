"""Block Kit cards for approvals and questions, and their decided forms (no buttons): the story's
cards (`channels.story.cards`) drawn in Slack's dialect, `SLACK`.

Everything that came from a model (arguments, prompts, options) is escaped; the buttons carry
only ids, so a click names what it decides and the core checks who may decide it.
"""

from __future__ import annotations

import time
from typing import Any

from channels.slack.mrkdwn import escape, to_mrkdwn
from channels.slack.profile import user_ref
from channels.story.cards import ApprovalCard, Button, Choice, Outcome, QuestionCard
from channels.story.dialect import Dialect, Icon
from channels.text import clip

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


SLACK = Dialect(
    icons={
        Icon.WORKING: ":hourglass_flowing_sand:",
        Icon.TOOL: ":mag:",
        Icon.TOOL_UNKNOWN: ":gear:",
        Icon.LOCK: ":lock:",
        Icon.QUESTION: ":question:",
        Icon.CONTINUING: ":arrow_forward:",
        Icon.DONE: ":white_check_mark:",
        Icon.FAILED: ":x:",
        Icon.STOP: ":no_entry_sign:",
        Icon.WARNING: ":warning:",
        Icon.EXPIRED: ":hourglass:",
        Icon.ANSWERED: ":speech_balloon:",
    },
    escape=escape,
    strong="*",
    date=slack_date,
    person=user_ref,
    code=lambda name: f"`{name}`",
    error_code=escape,
    admins="a workspace admin",
    your_approval="Waiting for your approval",
)


def approval_card(card: ApprovalCard, arg_chars: int) -> list[Block]:
    return [
        _header(card.title),
        section(card.intro),
        *_arguments(card.arguments, arg_chars),
        _context(card.rule),
        {
            "type": "actions",
            "block_id": f"approval:{card.item_id}",
            "elements": [_button(b) for b in card.buttons],
        },
    ]


def outcome(told: Outcome) -> list[Block]:
    """Appended to the card (whose buttons the dispatcher removes) once the decision is made."""
    return [section(told.line if told.reason is None else f"{told.line}\n{told.reason}")]


def question_card(card: QuestionCard) -> list[Block]:
    buttons = [_button(b) for b in card.buttons]
    if card.free_text:
        buttons.append(_plain_button("Answer in my own words…", ANSWER_TEXT, card.item_id))
    rows = [buttons[i : i + _BUTTONS_PER_ROW] for i in range(0, len(buttons), _BUTTONS_PER_ROW)]
    listed = (
        [section("\n".join(f"{i + 1}. {escape(o)}" for i, o in enumerate(card.options)))]
        if any(len(o) > _BUTTON_CHARS for o in card.options)
        else []
    )
    return [
        _header(card.title),
        section(to_mrkdwn(card.prompt)),
        *listed,
        _context(card.rule),
        *(
            {"type": "actions", "block_id": f"question:{card.item_id}:{n}", "elements": row}
            for n, row in enumerate(rows)
        ),
    ]


def _arguments(arguments: tuple[tuple[str, str], ...], arg_chars: int) -> list[Block]:
    if not arguments:
        return [section("_(no arguments)_")]
    fields = [{"type": "mrkdwn", "text": f"*{escape(k)}*\n{_value(v, arg_chars)}"} for k, v in arguments]
    return [{"type": "section", "fields": fields[i : i + _FIELDS]} for i in range(0, len(fields), _FIELDS)]


def _value(value: str, limit: int) -> str:
    text = clip(value, limit)
    return escape(text) if text else "_(empty)_"


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, _SECTION_CHARS)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(button: Button) -> Block:
    """An approval's button carries its id; an option's, the question's id and the index."""
    if button.choice is Choice.OPTION:
        value = f"{button.item_id}:{button.option}"
        return _plain_button(clip(button.label, _BUTTON_CHARS), f"{ANSWER}:{button.option}", value)
    action_id = APPROVE if button.choice is Choice.APPROVE else DENY
    return _plain_button(button.label, action_id, button.item_id, button.style)


def _plain_button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
