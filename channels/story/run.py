"""What a run says at each event, once for every chat surface, and the one walk that turns a
run's new events into a surface's outbox items.

`tell` reads an event as a `Telling`: the status line's new words, a card to post or a card's
outcome, a note of ours in the conversation, the answer, and whether the run is at work. A
surface's renderer is a `Voice`: it says how each of those becomes its platform's operations
(and on which kinds of work it shows a typing indicator); `render` keeps the order every surface
sends them in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from channels.progress import tool_phrase
from channels.story import cards, citations
from channels.story.dialect import Dialect, Icon
from core.events import EventType as E
from core.outbound import Outbound
from core.records import Run, RunEvent

NO_ANSWER = "(no answer)"  # a run that finished with nothing to say
RECONCILE = "I am not sure whether an action went through, so I stopped. An admin needs to check it before I continue."


class Work(StrEnum):
    """What the run is busy with, for surfaces that show a typing indicator on some of it."""

    STARTED = "started"
    THINKING = "thinking"
    TOOL = "tool"
    RESUMED = "resumed"
    ANSWERED = "answered"  # a question was answered (or expired): the run goes on


@dataclass(frozen=True)
class StatusLine:
    text: str
    final: bool = False  # the run has ended


@dataclass(frozen=True)
class Note:
    kind: str  # part of its outbox key: "failed", "reconcile"
    text: str


@dataclass(frozen=True)
class Telling:
    status: StatusLine | None = None
    opens: bool = False  # the status message is posted, not edited
    card: cards.ApprovalCard | cards.QuestionCard | None = None
    outcome: cards.Outcome | None = None  # a posted card is decided
    note: Note | None = None
    answer: str | None = None  # Markdown
    work: Work | None = None


def working(d: Dialect) -> str:
    return d.icon(Icon.WORKING, "Working on it…")


def progress(tool: str, d: Dialect) -> str:
    """ "lookup_order" → "Looking up order…"; unknown verbs get "Running `tool`…"."""
    phrase = tool_phrase(tool)
    return (
        d.icon(Icon.TOOL, f"{phrase}…") if phrase else d.icon(Icon.TOOL_UNKNOWN, f"Running {d.code(tool)}…")
    )


def tell(e: RunEvent, d: Dialect) -> Telling:  # noqa: C901  # one case per event
    p = e.payload
    busy = StatusLine(working(d))
    match e.type:
        case E.RUN_CREATED:
            return Telling(busy, opens=True, work=Work.STARTED)
        case E.MODEL_CALLED:
            return Telling(work=Work.THINKING)
        case E.TOOL_CALL_STARTED:
            return Telling(StatusLine(progress(str(p.get("tool", "")), d)), work=Work.TOOL)
        case E.RUN_RESUMED | E.RUN_RECONCILED:
            return Telling(busy, work=Work.RESUMED)
        case E.QUESTION_ANSWERED | E.QUESTION_EXPIRED:
            outcome = cards.question_outcome(p, e.created_at, d, expired=e.type == E.QUESTION_EXPIRED)
            return Telling(busy, outcome=outcome, work=Work.ANSWERED)
        case E.APPROVAL_REQUESTED:
            card = cards.approval_card(p, d)
            waiting = "Waiting for approval from an admin" if card.admin else d.your_approval
            return Telling(StatusLine(d.icon(Icon.LOCK, waiting)), card=card)
        case E.APPROVAL_DECIDED:
            outcome = cards.approval_outcome(p, e.created_at, d)
            approved = outcome.tone is cards.Tone.APPROVED
            return Telling(
                StatusLine(d.icon(Icon.CONTINUING, "Approved, continuing…")) if approved else busy,
                outcome=outcome,
            )
        case E.QUESTION_ASKED:
            return Telling(
                StatusLine(d.icon(Icon.QUESTION, "Waiting for your answer")), card=cards.question_card(p, d)
            )
        case E.RUN_COMPLETED:
            return Telling(
                StatusLine(d.icon(Icon.DONE, "Done"), final=True),
                answer=citations.with_sources(str(p.get("answer") or ""), p.get("citations")),
            )
        case E.RUN_FAILED:
            text = f"Sorry, I could not finish this ({d.error_code(str(p.get('code', 'error')))})."
            return Telling(StatusLine(d.icon(Icon.FAILED, "Failed"), final=True), note=Note("failed", text))
        case E.RUN_CANCELLED:
            return Telling(StatusLine(d.icon(Icon.STOP, "Cancelled"), final=True))
        case E.RUN_NEEDS_RECONCILIATION:
            note = Note("reconcile", d.icon(Icon.WARNING, RECONCILE))
            return Telling(StatusLine(d.icon(Icon.WARNING, "Needs attention"), final=True), note=note)
    return Telling()


class Voice(Protocol):
    """A surface's renderer: how each part of a telling becomes its outbox items."""

    dialect: Dialect
    typing_on: frozenset[Work]  # the work a typing indicator is shown for
    typing_first: bool  # the indicator goes before the event's messages, not after

    def opened(self, run: Run, status: StatusLine) -> list[Outbound]: ...
    def status(self, run: Run, e: RunEvent, status: StatusLine) -> Outbound: ...
    def card(self, run: Run, card: cards.ApprovalCard | cards.QuestionCard) -> list[Outbound]: ...
    def outcome(self, run: Run, outcome: cards.Outcome, *, approval: bool) -> list[Outbound]: ...
    def note(self, run: Run, e: RunEvent, note: Note) -> Outbound: ...
    def answer(self, run: Run, answer: str) -> list[Outbound]: ...
    def typing(self, run: Run, e: RunEvent) -> list[Outbound]: ...


def render(voice: Voice, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
    out: list[Outbound] = []
    for e in events:
        out.extend(_told(voice, run, e, tell(e, voice.dialect)))
    return out


def _told(voice: Voice, run: Run, e: RunEvent, t: Telling) -> list[Outbound]:
    typing = voice.typing(run, e) if t.work in voice.typing_on else []
    out = list(typing) if voice.typing_first else []
    if t.answer is not None:
        out.extend(voice.answer(run, t.answer))
    if t.status is not None:
        out.extend(voice.opened(run, t.status) if t.opens else [voice.status(run, e, t.status)])
    if t.card is not None:
        out.extend(voice.card(run, t.card))
    if t.outcome is not None:
        out.extend(voice.outcome(run, t.outcome, approval=e.type == E.APPROVAL_DECIDED))
    if t.note is not None:
        out.append(voice.note(run, e, t.note))
    if not voice.typing_first:
        out.extend(typing)
    return out


def answer_parts(
    chunks: list[str], key: Callable[[int], str], post: Callable[[str, str], Outbound]
) -> list[Outbound]:
    """An answer cut to fit, posted under `key(i)`, each part after the one before."""
    out = []
    for i, chunk in enumerate(chunks or [NO_ANSWER]):
        item = post(key(i), chunk)
        if i:  # the parts of one answer arrive in order
            item.payload["after"] = key(i - 1)
        out.append(item)
    return out
