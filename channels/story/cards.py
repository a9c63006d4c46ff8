"""Approval and question cards, and the lines they end with once decided: what they say and
which buttons they offer, written once. A surface draws them (Block Kit, an embed with
components, an Adaptive Card), applies its own limits and encodes each `Button` in its own ids.

Words from outside (a tool's name and arguments, a prompt, options, a reason) are escaped in
the dialect where they are part of our sentences; argument values, the prompt and the options
are handed over raw, for the surface to convert and clip as its layout needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from channels.story.dialect import Dialect, Icon
from channels.text import argument_text

APPROVAL_TITLE = "Approval needed"
QUESTION_TITLE = "Question"
A_QUESTION = "A question"  # a question card's summary where a surface shows no prompt


class Choice(StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    OPTION = "option"  # one of a question's options, by index


class Tone(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    ANSWERED = "answered"


@dataclass(frozen=True)
class Button:
    label: str  # plain text, not yet clipped to the surface's limit
    choice: Choice
    item_id: str  # the approval or question the click decides
    option: int | None = None  # Choice.OPTION: the option's index
    style: str | None = None  # "primary" | "danger" | None


@dataclass(frozen=True)
class ApprovalCard:
    item_id: str
    admin: bool  # only an admin may decide
    title: str
    summary: str  # the card as one line (a notification's text)
    intro: str
    arguments: tuple[tuple[str, str], ...]  # (name, value as text), raw; () when there are none
    rule: str  # who may decide, until when
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class QuestionCard:
    item_id: str
    title: str
    prompt: str  # Markdown, raw
    asked: str  # the prompt as given ("" when there is none), for a one-line summary
    options: tuple[str, ...]  # raw
    rule: str  # who may answer
    buttons: tuple[Button, ...]  # one per option
    free_text: bool  # an answer in the person's own words is welcome


@dataclass(frozen=True)
class Outcome:
    """How a decided card ends: `line`, and `reason` (a denial's, say) where one was given."""

    item_id: str
    tone: Tone
    line: str
    reason: str | None = None


def approval_card(payload: dict[str, Any], d: Dialect) -> ApprovalCard:
    tool = d.escape(str(payload.get("tool", "")))
    tier = str(payload.get("tier", "user"))
    admin = tier == "admin"
    who = d.admins if admin else d.person(payload.get("requester"))
    expires = payload.get("expires_at")
    until = f" Expires {d.date(float(expires))}." if isinstance(expires, int | float) else ""
    approval_id = str(payload["approval_id"])
    args = payload.get("args")
    arguments = tuple((str(k), argument_text(v)) for k, v in args.items()) if isinstance(args, dict) else ()
    return ApprovalCard(
        item_id=approval_id,
        admin=admin,
        title=APPROVAL_TITLE,
        summary=f"{APPROVAL_TITLE}: {tool}",
        intro=f"The assistant wants to run {d.bold(tool)} with:",
        arguments=arguments,
        rule=f"Tier: {d.bold(d.escape(tier))} · Only {who} can decide.{until}",
        buttons=(
            Button("Approve", Choice.APPROVE, approval_id, style="primary"),
            Button("Deny", Choice.DENY, approval_id, style="danger"),
        ),
    )


def question_card(payload: dict[str, Any], d: Dialect) -> QuestionCard:
    question_id = str(payload["question_id"])
    options = tuple(str(o) for o in payload.get("options") or [])
    return QuestionCard(
        item_id=question_id,
        title=QUESTION_TITLE,
        prompt=str(payload.get("prompt", "")),
        asked=str(payload.get("prompt") or ""),
        options=options,
        rule=f"Only {d.person(payload.get('asked_of'))} can answer.",
        buttons=tuple(Button(o, Choice.OPTION, question_id, option=i) for i, o in enumerate(options)),
        free_text=bool(payload.get("allow_free_text")),
    )


def approval_outcome(payload: dict[str, Any], at: float, d: Dialect) -> Outcome:
    approval_id = str(payload["approval_id"])
    decision = str(payload.get("decision", ""))
    if decision == "expired":
        line = d.icon(Icon.EXPIRED, f"Expired{d.expired_at} {d.date(at)}: nobody decided in time.")
        return Outcome(approval_id, Tone.EXPIRED, line)
    tone = Tone.APPROVED if decision == "approved" else Tone.DENIED
    icon = Icon.DONE if tone is Tone.APPROVED else Icon.STOP
    line = d.icon(icon, f"{d.escape(decision.capitalize())} by {d.person(payload.get('by'))} at {d.date(at)}")
    reason = payload.get("reason")
    return Outcome(approval_id, tone, line, f"Reason: {d.escape(str(reason))[:500]}" if reason else None)


def question_outcome(payload: dict[str, Any], at: float, d: Dialect, *, expired: bool = False) -> Outcome:
    question_id = str(payload["question_id"])
    if expired:
        line = d.icon(Icon.EXPIRED, f"Expired{d.expired_at} {d.date(at)}: nobody answered in time.")
        return Outcome(question_id, Tone.EXPIRED, line)
    answer = d.escape(str(payload.get("answer", "")))[:1000]
    line = d.icon(Icon.ANSWERED, f"{d.person(payload.get('by'))} answered {d.bold(answer)} at {d.date(at)}")
    return Outcome(question_id, Tone.ANSWERED, line)
