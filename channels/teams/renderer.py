"""The Teams renderer: a run's new events → outbox items. Pure: no I/O, no clock, no store.

A typing indicator when work starts; one progress message per run, posted when the run is
created and updated in place as it moves; the answer split to fit; approval and question cards
that are replaced, once decided, by a card that says who decided. A scheduled run (a proactive
key) has neither typing nor progress message: only its answer, as a new message.

Payload operations, carried out by `TeamsSink` in the conversation named by the target:
    typing  a typing indicator
    post    a message (`text`, Teams Markdown) or a card (`card`); `after`: a key delivered first
    update  the activity posted under `ref`: new `text` (the progress message, `seq` orders
            edits), or the posted card decided, ending with `outcome`
    noop    nothing to send; stands in for a scheduled run's progress message, so its updates
            are skipped
A target with `top_level` (a scheduled run's) starts a new post in a channel conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.progress import tool_phrase
from channels.teams import cards
from channels.teams.markdown import escape, split_markdown
from channels.teams.profile import (
    TeamsProfile,
    address,
    answer_key,
    card_key,
    is_proactive,
    status_key,
    typing_key,
)
from core.events import EventType as E
from core.outbound import Outbound
from core.records import Run, RunEvent

WORKING = "⏳ Working on it…"


def progress(tool: str) -> str:
    """ "lookup_order" → "🔍 Looking up order…"; unknown verbs get "🔍 Running `tool`…"."""
    phrase = tool_phrase(tool)
    return f"🔍 {phrase}…" if phrase else f"🔍 Running `{tool}`…"


class TeamsRenderer:
    def __init__(self, profile: TeamsProfile | None = None) -> None:
        self.profile = profile or TeamsProfile()

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        out: list[Outbound] = []
        for event in events:
            out.extend(self._event(run, event))
        return out

    def _event(self, run: Run, e: RunEvent) -> list[Outbound]:
        p = e.payload
        match e.type:
            case E.RUN_CREATED:
                return self._opened(run, e)
            case E.TOOL_CALL_STARTED:
                return [self._status(run, e, progress(str(p.get("tool", ""))))]
            case E.RUN_RESUMED | E.RUN_RECONCILED:
                return [*self._typing(run, e), self._status(run, e, WORKING)]
            case E.QUESTION_ASKED:
                card = cards.question_card(p)
                return [
                    self._status(run, e, "❓ Waiting for your answer"),
                    self._post(run, card_key(run.id, str(p["question_id"])), "A question", card),
                ]
            case E.QUESTION_ANSWERED | E.QUESTION_EXPIRED:
                outcome = cards.question_outcome(p, e.created_at, expired=e.type == E.QUESTION_EXPIRED)
                return [
                    *self._typing(run, e),
                    self._status(run, e, WORKING),
                    self._decided(run, card_key(run.id, str(p["question_id"])), outcome),
                ]
            case E.APPROVAL_REQUESTED:
                waiting = "an admin" if p.get("tier") == "admin" else "you"
                card = cards.approval_card(p, self.profile.arg_chars)
                return [
                    self._status(run, e, f"🔒 Waiting for approval from {waiting}"),
                    self._post(run, card_key(run.id, str(p["approval_id"])), "Approval needed", card),
                ]
            case E.APPROVAL_DECIDED:
                approved = p.get("decision") == "approved"
                outcome = cards.approval_outcome(p, e.created_at)
                return [
                    self._status(run, e, "▶️ Approved, continuing…" if approved else WORKING),
                    self._decided(run, card_key(run.id, str(p["approval_id"])), outcome),
                ]
            case E.RUN_COMPLETED:
                return [*self._answer(run, str(p.get("answer") or "")), self._status(run, e, "✅ Done")]
            case E.RUN_FAILED:
                text = f"Sorry, I could not finish this ({escape(str(p.get('code', 'error')))})."
                return [
                    self._status(run, e, "❌ Failed"),
                    self._post(run, f"teams:{run.id}:failed:{e.seq}", text),
                ]
            case E.RUN_CANCELLED:
                return [self._status(run, e, "🚫 Cancelled")]
            case E.RUN_NEEDS_RECONCILIATION:
                text = (
                    "⚠️ I am not sure whether an action went through, so I stopped. "
                    "An admin needs to check it before I continue."
                )
                return [
                    self._status(run, e, "⚠️ Needs attention"),
                    self._post(run, f"teams:{run.id}:reconcile:{e.seq}", text),
                ]
        return []

    def _opened(self, run: Run, e: RunEvent) -> list[Outbound]:
        """The progress message; a scheduled post has none (noop), only its answer."""
        if is_proactive(run.thread_key):
            return [Outbound(status_key(run.id), self._target(run), {"op": "noop"})]
        return [*self._typing(run, e), self._post(run, status_key(run.id), WORKING)]

    def _answer(self, run: Run, answer: str) -> list[Outbound]:
        chunks = split_markdown(answer, self.profile.message_chars) or ["(no answer)"]
        out = []
        for i, chunk in enumerate(chunks):
            item = self._post(run, answer_key(run.id, i), chunk)
            if i:  # the parts of one answer arrive in order
                item.payload["after"] = answer_key(run.id, i - 1)
            out.append(item)
        return out

    @staticmethod
    def _target(run: Run) -> dict[str, Any]:
        return address(run.thread_key)

    def _typing(self, run: Run, e: RunEvent) -> list[Outbound]:
        """Not for a scheduled post: nobody is waiting for it."""
        if is_proactive(run.thread_key):
            return []
        return [Outbound(typing_key(run.id, e.seq), self._target(run), {"op": "typing"})]

    def _post(self, run: Run, key: str, text: str, card: cards.Card | None = None) -> Outbound:
        payload: dict[str, Any] = {"op": "post", "text": text}
        if key != status_key(run.id):  # the progress message opens the run's part of the conversation
            payload["after"] = status_key(run.id)
        if card is not None:
            payload["card"] = card
        return Outbound(key, self._target(run), payload)

    def _status(self, run: Run, e: RunEvent, text: str) -> Outbound:
        ref = status_key(run.id)
        return Outbound(
            f"{ref}:{e.seq}", self._target(run), {"op": "update", "ref": ref, "text": text, "seq": e.seq}
        )

    def _decided(self, run: Run, ref: str, outcome: list[cards.Element]) -> Outbound:
        return Outbound(f"{ref}:decided", self._target(run), {"op": "update", "ref": ref, "outcome": outcome})
