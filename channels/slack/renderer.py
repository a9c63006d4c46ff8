"""The Slack renderer: a run's new events → outbox items. Pure: no I/O, no clock, no store. What
it says is the story's (`channels.story.run`); this module only chooses Slack's operations.

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
from functools import partial
from typing import Any

from channels.slack import blocks
from channels.slack.assistant import assistant_status
from channels.slack.mrkdwn import escape, split_markdown
from channels.slack.profile import SlackProfile, address, answer_key, card_key, is_proactive, status_key
from channels.story import run as story
from channels.story.cards import A_QUESTION, ApprovalCard, Outcome, QuestionCard
from channels.text import clip
from core.outbound import Outbound
from core.records import Run, RunEvent


def progress(tool: str) -> str:
    """ "lookup_order" → ":mag: Looking up order…"; unknown verbs get ":gear: Running `tool`…"."""
    return story.progress(tool, blocks.SLACK)


class SlackRenderer:
    """The story's `Voice` in Slack: Block Kit cards, a status message and the assistant status."""

    dialect = blocks.SLACK
    typing_on: frozenset[story.Work] = frozenset()  # the assistant status says what the run does
    typing_first = False

    def __init__(self, profile: SlackProfile | None = None) -> None:
        self.profile = profile or SlackProfile()

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        return story.render(self, run, events)

    def opened(self, run: Run, status: story.StatusLine) -> list[Outbound]:
        """The status message; a scheduled post has none (noop), only its answer at top level."""
        if is_proactive(run.thread_key):
            return [Outbound(status_key(run.id), address(run.thread_key), {"op": "noop"})]
        opened = self._post(run, status_key(run.id), status.text)
        opened.payload["assistant"] = assistant_status(status.text)
        return [opened]

    def card(self, run: Run, card: ApprovalCard | QuestionCard) -> list[Outbound]:
        if isinstance(card, QuestionCard):
            fallback = escape(clip(card.asked or A_QUESTION, 150))
            return [self._post(run, card_key(run.id, card.item_id), fallback, blocks.question_card(card))]
        drawn = blocks.approval_card(card, self.profile.arg_chars)
        out = [self._post(run, card_key(run.id, card.item_id), card.summary, drawn)]
        channel = self.profile.admin_channel
        if channel is not None:
            key = card_key(run.id, card.item_id, admin=True)
            if card.admin:
                where = address(run.thread_key)["channel"]
                intro = blocks.section(f"From a conversation in <#{where}>:")
                payload = {"op": "post", "text": card.summary, "blocks": [intro, *drawn], "card": True}
                out.append(Outbound(key, {"channel": channel}, payload))
            else:  # lets the decision's update of the admin copy know there is none
                out.append(Outbound(key, {"channel": channel}, {"op": "noop"}))
        return out

    def outcome(self, run: Run, outcome: Outcome, *, approval: bool) -> list[Outbound]:
        drawn = blocks.outcome(outcome)
        out = [self._card_update(card_key(run.id, outcome.item_id), drawn)]
        if approval and self.profile.admin_channel is not None:
            out.append(self._card_update(card_key(run.id, outcome.item_id, admin=True), drawn))
        return out

    def note(self, run: Run, e: RunEvent, note: story.Note) -> Outbound:
        return self._post(run, f"slack:{run.id}:{note.kind}:{e.seq}", note.text)

    def answer(self, run: Run, answer: str) -> list[Outbound]:
        chunks = split_markdown(answer, self.profile.message_chars)
        return story.answer_parts(
            chunks, partial(answer_key, run.id), lambda key, text: self._post(run, key, text)
        )

    def typing(self, run: Run, e: RunEvent) -> list[Outbound]:
        return []

    def _post(self, run: Run, key: str, text: str, card: list[blocks.Block] | None = None) -> Outbound:
        payload: dict[str, Any] = {"op": "post", "text": text}
        if key != status_key(run.id):  # the status message opens the run's part of the thread
            payload["after"] = status_key(run.id)
        if card is not None:
            payload |= {"blocks": card, "card": True}
        return Outbound(key, address(run.thread_key), payload)

    def status(self, run: Run, e: RunEvent, status: story.StatusLine) -> Outbound:
        """An edit of the status message; `assistant` is the same news for Slack's assistant
        thread status, cleared ("") once the run has ended."""
        ref = status_key(run.id)
        return Outbound(
            f"{ref}:{e.seq}",
            address(run.thread_key),
            {
                "op": "update",
                "ref": ref,
                "text": status.text,
                "seq": e.seq,
                "assistant": "" if status.final else assistant_status(status.text),
            },
        )

    @staticmethod
    def _card_update(ref: str, outcome: list[blocks.Block]) -> Outbound:
        return Outbound(
            f"{ref}:decided",
            {},
            {"op": "update", "ref": ref, "card": True, "blocks": outcome, "text": "Decided"},
        )
