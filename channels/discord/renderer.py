"""The Discord renderer: a run's new events → outbox items. Pure: no I/O, no clock, no store. What
it says is the story's (`channels.story.run`); this module only chooses Discord's operations.

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
from functools import partial
from typing import Any

from channels.discord import cards
from channels.discord.markup import split_markdown
from channels.discord.profile import DiscordProfile, address, answer_key, card_key, is_proactive, status_key
from channels.story import run as story
from channels.story.cards import ApprovalCard, Outcome, QuestionCard
from core.outbound import Outbound
from core.records import Run, RunEvent


def progress(tool: str) -> str:
    """ "lookup_order" → "🔎 Looking up order…"; unknown verbs get "⚙️ Running `tool`…"."""
    return story.progress(tool, cards.DISCORD)


class DiscordRenderer:
    """The story's `Voice` on Discord: embeds with buttons, a progress message and typing."""

    dialect = cards.DISCORD
    typing_on = frozenset({story.Work.STARTED, story.Work.THINKING, story.Work.TOOL, story.Work.RESUMED})
    typing_first = False

    def __init__(self, profile: DiscordProfile | None = None) -> None:
        self.profile = profile or DiscordProfile()

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        return story.render(self, run, events)

    def opened(self, run: Run, status: story.StatusLine) -> list[Outbound]:
        """The progress message; a scheduled post has none (noop), only its answer."""
        if is_proactive(run.thread_key):
            return [Outbound(status_key(run.id), self._where(run), {"op": "noop"})]
        return [self._post(run, status_key(run.id), {"content": status.text})]

    def card(self, run: Run, card: ApprovalCard | QuestionCard) -> list[Outbound]:
        if isinstance(card, QuestionCard):
            drawn = cards.question_card(card)
        else:
            drawn = cards.approval_card(card, self.profile.arg_chars)
        return [self._post(run, card_key(run.id, card.item_id), drawn, card=True)]

    def outcome(self, run: Run, outcome: Outcome, *, approval: bool) -> list[Outbound]:
        ref = card_key(run.id, outcome.item_id)
        payload = {"op": "edit", "ref": ref, "card": True, "embed": cards.outcome(outcome)}
        return [Outbound(f"{ref}:decided", self._where(run), payload)]

    def note(self, run: Run, e: RunEvent, note: story.Note) -> Outbound:
        return self._post(run, f"discord:{run.id}:{note.kind}:{e.seq}", {"content": note.text})

    def answer(self, run: Run, answer: str) -> list[Outbound]:
        chunks = split_markdown(answer, self.profile.message_chars)
        return story.answer_parts(
            chunks, partial(answer_key, run.id), lambda key, text: self._post(run, key, {"content": text})
        )

    def _where(self, run: Run) -> dict[str, Any]:
        return address(run.thread_key, self.profile.thread_name)

    def _post(self, run: Run, key: str, message: dict[str, Any], *, card: bool = False) -> Outbound:
        payload: dict[str, Any] = {"op": "post", "message": message}
        if key != status_key(run.id):  # the progress message opens the run's part of the thread
            payload["after"] = status_key(run.id)
        if card:
            payload["card"] = True
        return Outbound(key, self._where(run), payload)

    def status(self, run: Run, e: RunEvent, status: story.StatusLine) -> Outbound:
        ref = status_key(run.id)
        return Outbound(
            f"{ref}:{e.seq}",
            self._where(run),
            {"op": "edit", "ref": ref, "message": {"content": status.text}, "seq": e.seq},
        )

    def typing(self, run: Run, e: RunEvent) -> list[Outbound]:
        """Discord shows it for 10 s or until our next message; the sink keeps only the newest.
        Not for a scheduled post: nobody is waiting for it."""
        if is_proactive(run.thread_key):
            return []
        return [Outbound(f"discord:{run.id}:typing:{e.seq}", self._where(run), {"op": "typing"})]
