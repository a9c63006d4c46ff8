"""The Teams renderer: a run's new events → outbox items. Pure: no I/O, no clock, no store. What
it says is the story's (`channels.story.run`); this module only chooses Teams' operations.

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
from functools import partial
from typing import Any

from channels.story import run as story
from channels.story.cards import A_QUESTION, ApprovalCard, Outcome, QuestionCard
from channels.teams import cards
from channels.teams.markdown import split_markdown
from channels.teams.profile import (
    TeamsProfile,
    address,
    answer_key,
    card_key,
    is_proactive,
    status_key,
    typing_key,
)
from core.outbound import Outbound
from core.records import Run, RunEvent


def progress(tool: str) -> str:
    """ "lookup_order" → "🔍 Looking up order…"; unknown verbs get "🔍 Running `tool`…"."""
    return story.progress(tool, cards.TEAMS)


class TeamsRenderer:
    """The story's `Voice` in Teams: Adaptive Cards, a progress message and typing when work starts."""

    dialect = cards.TEAMS
    typing_on = frozenset({story.Work.STARTED, story.Work.RESUMED, story.Work.ANSWERED})
    typing_first = True

    def __init__(self, profile: TeamsProfile | None = None) -> None:
        self.profile = profile or TeamsProfile()

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        return story.render(self, run, events)

    def opened(self, run: Run, status: story.StatusLine) -> list[Outbound]:
        """The progress message; a scheduled post has none (noop), only its answer."""
        if is_proactive(run.thread_key):
            return [Outbound(status_key(run.id), self._target(run), {"op": "noop"})]
        return [self._post(run, status_key(run.id), status.text)]

    def card(self, run: Run, card: ApprovalCard | QuestionCard) -> list[Outbound]:
        key = card_key(run.id, card.item_id)
        if isinstance(card, QuestionCard):
            return [self._post(run, key, A_QUESTION, cards.question_card(card))]
        return [self._post(run, key, card.title, cards.approval_card(card, self.profile.arg_chars))]

    def outcome(self, run: Run, outcome: Outcome, *, approval: bool) -> list[Outbound]:
        ref = card_key(run.id, outcome.item_id)
        payload = {"op": "update", "ref": ref, "outcome": cards.outcome(outcome)}
        return [Outbound(f"{ref}:decided", self._target(run), payload)]

    def note(self, run: Run, e: RunEvent, note: story.Note) -> Outbound:
        return self._post(run, f"teams:{run.id}:{note.kind}:{e.seq}", note.text)

    def answer(self, run: Run, answer: str) -> list[Outbound]:
        chunks = split_markdown(answer, self.profile.message_chars)
        return story.answer_parts(
            chunks, partial(answer_key, run.id), lambda key, text: self._post(run, key, text)
        )

    @staticmethod
    def _target(run: Run) -> dict[str, Any]:
        return address(run.thread_key)

    def typing(self, run: Run, e: RunEvent) -> list[Outbound]:
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

    def status(self, run: Run, e: RunEvent, status: story.StatusLine) -> Outbound:
        ref = status_key(run.id)
        return Outbound(
            f"{ref}:{e.seq}",
            self._target(run),
            {"op": "update", "ref": ref, "text": status.text, "seq": e.seq},
        )
