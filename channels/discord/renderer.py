"""The Discord renderer: a run's new events → outbox items. Pure: no I/O, no clock, no store.

One progress message per run, posted when the run is created and edited in place as it moves
("Working on it…", "Looking up order…", "Waiting for approval from an admin", "Done"), with the
typing indicator shown while the run works; the answer split to 2,000 characters; approval and
question cards with buttons, edited once decided. A scheduled run (a proactive key) has neither
progress message nor typing: only its answer, at the top level of its channel or in a DM.

Payload operations, carried out by `DiscordSink` (every message goes out with no mentions allowed):
    post    create a message in the target (`after`: a key that must be delivered first); a
            target with a `parent` is a thread, opened from its first message when it is missing
    edit    edit the message posted under `ref`; `card: true` keeps the card's embeds, adds
            `embed` and removes the buttons
    typing  show "Switchboard is typing…" for up to 10 s (best effort)
    noop    nothing to send; stands in for the progress message of a scheduled run, so its
            edits are skipped
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.discord import cards
from channels.discord.markup import neutralise, split_markdown
from channels.discord.profile import (
    DiscordProfile,
    address,
    answer_key,
    card_key,
    is_proactive,
    status_key,
)
from channels.progress import tool_phrase
from core.events import EventType as E
from core.outbound import Outbound
from core.records import Run, RunEvent

WORKING = "⏳ Working on it…"


def progress(tool: str) -> str:
    """ "lookup_order" → "🔎 Looking up order…"; unknown verbs get "Running `tool`…"."""
    phrase = tool_phrase(tool)
    return f"🔎 {phrase}…" if phrase else f"⚙️ Running `{neutralise(tool)}`…"


class DiscordRenderer:
    def __init__(self, profile: DiscordProfile | None = None) -> None:
        self.profile = profile or DiscordProfile()

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        out: list[Outbound] = []
        for event in events:
            out.extend(self._event(run, event))
        return out

    def _event(self, run: Run, e: RunEvent) -> list[Outbound]:  # noqa: C901  # one case per event
        p = e.payload
        match e.type:
            case E.RUN_CREATED:
                return self._opened(run, e)
            case E.MODEL_CALLED:
                return self._typing(run, e)
            case E.TOOL_CALL_STARTED:
                return [self._status(run, e, progress(str(p.get("tool", "")))), *self._typing(run, e)]
            case E.RUN_RESUMED | E.RUN_RECONCILED:
                return [self._status(run, e, WORKING), *self._typing(run, e)]
            case E.QUESTION_ANSWERED | E.QUESTION_EXPIRED:
                outcome = cards.question_outcome(p, e.created_at, expired=e.type == E.QUESTION_EXPIRED)
                return [
                    self._status(run, e, WORKING),
                    self._card_edit(run, card_key(run.id, str(p["question_id"])), outcome),
                ]
            case E.APPROVAL_REQUESTED:
                waiting = "an admin" if p.get("tier") == "admin" else "you"
                card = cards.approval_card(p, self.profile.arg_chars)
                return [
                    self._status(run, e, f"🔒 Waiting for approval from {waiting}"),
                    self._post(run, card_key(run.id, str(p["approval_id"])), card, card=True),
                ]
            case E.APPROVAL_DECIDED:
                approved = p.get("decision") == "approved"
                return [
                    self._status(run, e, "▶️ Approved, continuing…" if approved else WORKING),
                    self._card_edit(
                        run, card_key(run.id, str(p["approval_id"])), cards.approval_outcome(p, e.created_at)
                    ),
                ]
            case E.QUESTION_ASKED:
                card = cards.question_card(p)
                return [
                    self._status(run, e, "❓ Waiting for your answer"),
                    self._post(run, card_key(run.id, str(p["question_id"])), card, card=True),
                ]
            case E.RUN_COMPLETED:
                return [*self._answer(run, str(p.get("answer") or "")), self._status(run, e, "✅ Done")]
            case E.RUN_FAILED:
                text = f"Sorry, I could not finish this (`{neutralise(str(p.get('code', 'error')))}`)."
                return [
                    self._status(run, e, "❌ Failed"),
                    self._post(run, f"discord:{run.id}:failed:{e.seq}", {"content": text}),
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
                    self._post(run, f"discord:{run.id}:reconcile:{e.seq}", {"content": text}),
                ]
        return []

    def _opened(self, run: Run, e: RunEvent) -> list[Outbound]:
        """The progress message; a scheduled post has none (noop), only its answer."""
        if is_proactive(run.thread_key):
            return [Outbound(status_key(run.id), self._where(run), {"op": "noop"})]
        return [self._post(run, status_key(run.id), {"content": WORKING}), *self._typing(run, e)]

    def _answer(self, run: Run, answer: str) -> list[Outbound]:
        chunks = split_markdown(answer, self.profile.message_chars) or ["(no answer)"]
        out = []
        for i, chunk in enumerate(chunks):
            item = self._post(run, answer_key(run.id, i), {"content": chunk})
            if i:  # the parts of one answer arrive in order
                item.payload["after"] = answer_key(run.id, i - 1)
            out.append(item)
        return out

    def _where(self, run: Run) -> dict[str, Any]:
        return address(run.thread_key, self.profile.thread_name)

    def _post(self, run: Run, key: str, message: dict[str, Any], *, card: bool = False) -> Outbound:
        payload: dict[str, Any] = {"op": "post", "message": message}
        if key != status_key(run.id):  # the progress message opens the run's part of the thread
            payload["after"] = status_key(run.id)
        if card:
            payload["card"] = True
        return Outbound(key, self._where(run), payload)

    def _status(self, run: Run, e: RunEvent, text: str) -> Outbound:
        ref = status_key(run.id)
        return Outbound(
            f"{ref}:{e.seq}",
            self._where(run),
            {"op": "edit", "ref": ref, "message": {"content": text}, "seq": e.seq},
        )

    def _typing(self, run: Run, e: RunEvent) -> list[Outbound]:
        """Discord shows it for 10 s or until our next message; the sink keeps only the newest.
        Not for a scheduled post: nobody is waiting for it."""
        if is_proactive(run.thread_key):
            return []
        return [Outbound(f"discord:{run.id}:typing:{e.seq}", self._where(run), {"op": "typing"})]

    def _card_edit(self, run: Run, ref: str, outcome: dict[str, Any]) -> Outbound:
        return Outbound(
            f"{ref}:decided", self._where(run), {"op": "edit", "ref": ref, "card": True, "embed": outcome}
        )
