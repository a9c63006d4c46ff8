"""The Slack renderer: a run's new events → outbox items. Pure: no I/O, no clock, no store.

One status message per run, posted when the run is created and updated in place as it moves
("Working on it…", "Looking up order…", "Waiting for approval from an admin", "Done"); the answer
in the thread, split to fit; approval and question cards that are edited once decided.

Payload operations, carried out by `SlackSink`:
    post    chat.postMessage to the target (`after`: a key that must be delivered first)
    update  chat.update of the message posted under `ref`; `card: true` keeps the card's blocks,
            drops its buttons and appends `blocks`
    noop    nothing to send; stands in for a post that was not needed, so updates of it are skipped
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.progress import tool_phrase
from channels.slack import blocks
from channels.slack.assistant import assistant_status
from channels.slack.mrkdwn import escape, split_markdown
from channels.slack.profile import (
    SlackProfile,
    address,
    answer_key,
    card_key,
    is_proactive,
    status_key,
)
from channels.text import clip
from core.events import EventType as E
from core.outbound import Outbound
from core.records import Run, RunEvent

WORKING = ":hourglass_flowing_sand: Working on it…"


def progress(tool: str) -> str:
    """ "lookup_order" → "Looking up order…"; unknown verbs get "Running `tool`…"."""
    phrase = tool_phrase(tool)
    return f":mag: {phrase}…" if phrase else f":gear: Running `{tool}`…"


class SlackRenderer:
    def __init__(self, profile: SlackProfile | None = None) -> None:
        self.profile = profile or SlackProfile()

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        out: list[Outbound] = []
        for event in events:
            out.extend(self._event(run, event))
        return out

    def _event(self, run: Run, e: RunEvent) -> list[Outbound]:
        p = e.payload
        match e.type:
            case E.RUN_CREATED:
                return [self._opened(run)]
            case E.TOOL_CALL_STARTED:
                return [self._status(run, e, progress(str(p.get("tool", ""))))]
            case E.RUN_RESUMED | E.RUN_RECONCILED:
                return [self._status(run, e, WORKING)]
            case E.QUESTION_ANSWERED | E.QUESTION_EXPIRED:
                outcome = blocks.question_outcome(p, e.created_at, expired=e.type == E.QUESTION_EXPIRED)
                return [
                    self._status(run, e, WORKING),
                    self._card_update(card_key(run.id, str(p["question_id"])), outcome),
                ]
            case E.APPROVAL_REQUESTED:
                return self._approval_requested(run, e)
            case E.APPROVAL_DECIDED:
                return self._approval_decided(run, e)
            case E.QUESTION_ASKED:
                card = blocks.question_card(p)
                return [
                    self._status(run, e, ":question: Waiting for your answer"),
                    self._post(
                        run, card_key(run.id, str(p["question_id"])), _fallback(p.get("prompt")), card
                    ),
                ]
            case E.RUN_COMPLETED:
                return [
                    *self._answer(run, str(p.get("answer") or "")),
                    self._status(run, e, ":white_check_mark: Done", final=True),
                ]
            case E.RUN_FAILED:
                text = f"Sorry, I could not finish this ({escape(str(p.get('code', 'error')))})."
                return [
                    self._status(run, e, ":x: Failed", final=True),
                    self._post(run, f"slack:{run.id}:failed:{e.seq}", text),
                ]
            case E.RUN_CANCELLED:
                return [self._status(run, e, ":no_entry_sign: Cancelled", final=True)]
            case E.RUN_NEEDS_RECONCILIATION:
                text = (
                    ":warning: I am not sure whether an action went through, so I stopped. "
                    "An admin needs to check it before I continue."
                )
                return [
                    self._status(run, e, ":warning: Needs attention", final=True),
                    self._post(run, f"slack:{run.id}:reconcile:{e.seq}", text),
                ]
        return []

    def _opened(self, run: Run) -> Outbound:
        """The status message; a scheduled post has none (noop), only its answer at top level."""
        if is_proactive(run.thread_key):
            return Outbound(status_key(run.id), address(run.thread_key), {"op": "noop"})
        opened = self._post(run, status_key(run.id), WORKING)
        opened.payload["assistant"] = assistant_status(WORKING)
        return opened

    def _approval_requested(self, run: Run, e: RunEvent) -> list[Outbound]:
        p = e.payload
        admin = p.get("tier") == "admin"
        card = blocks.approval_card(p, self.profile.arg_chars)
        text = f"Approval needed: {escape(str(p.get('tool')))}"
        waiting = "Waiting for approval from an admin" if admin else "Waiting for your approval"
        out = [
            self._status(run, e, f":lock: {waiting}"),
            self._post(run, card_key(run.id, str(p["approval_id"])), text, card),
        ]
        channel = self.profile.admin_channel
        if channel is not None:
            key = card_key(run.id, str(p["approval_id"]), admin=True)
            if admin:
                where = address(run.thread_key)["channel"]
                intro = blocks.section(f"From a conversation in <#{where}>:")
                out.append(
                    Outbound(
                        key,
                        {"channel": channel},
                        {"op": "post", "text": text, "blocks": [intro, *card], "card": True},
                    )
                )
            else:  # lets the decision's update of the admin copy know there is none
                out.append(Outbound(key, {"channel": channel}, {"op": "noop"}))
        return out

    def _approval_decided(self, run: Run, e: RunEvent) -> list[Outbound]:
        p = e.payload
        outcome = blocks.approval_outcome(p, e.created_at)
        decision = str(p.get("decision", ""))
        status = ":arrow_forward: Approved, continuing…" if decision == "approved" else WORKING
        out = [
            self._status(run, e, status),
            self._card_update(card_key(run.id, str(p["approval_id"])), outcome),
        ]
        if self.profile.admin_channel is not None:
            out.append(self._card_update(card_key(run.id, str(p["approval_id"]), admin=True), outcome))
        return out

    def _answer(self, run: Run, answer: str) -> list[Outbound]:
        chunks = split_markdown(answer, self.profile.message_chars) or ["(no answer)"]
        out = []
        for i, chunk in enumerate(chunks):
            item = self._post(run, answer_key(run.id, i), chunk)
            if i:  # the parts of one answer arrive in order
                item.payload["after"] = answer_key(run.id, i - 1)
            out.append(item)
        return out

    def _post(self, run: Run, key: str, text: str, card: list[blocks.Block] | None = None) -> Outbound:
        payload: dict[str, Any] = {"op": "post", "text": text}
        if key != status_key(run.id):  # the status message opens the run's part of the thread
            payload["after"] = status_key(run.id)
        if card is not None:
            payload |= {"blocks": card, "card": True}
        return Outbound(key, address(run.thread_key), payload)

    def _status(self, run: Run, e: RunEvent, text: str, *, final: bool = False) -> Outbound:
        """An edit of the status message; `assistant` is the same news for Slack's assistant
        thread status, cleared ("") once the run has ended."""
        ref = status_key(run.id)
        return Outbound(
            f"{ref}:{e.seq}",
            address(run.thread_key),
            {
                "op": "update",
                "ref": ref,
                "text": text,
                "seq": e.seq,
                "assistant": "" if final else assistant_status(text),
            },
        )

    @staticmethod
    def _card_update(ref: str, outcome: list[blocks.Block]) -> Outbound:
        return Outbound(
            f"{ref}:decided",
            {},
            {"op": "update", "ref": ref, "card": True, "blocks": outcome, "text": "Decided"},
        )


def _fallback(prompt: object) -> str:
    text = str(prompt or "A question")
    return escape(clip(text, 150))
