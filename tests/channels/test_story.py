"""The story is told once: every chat surface says the same words at each event, in its own
dialect (icons, emphasis, escaping), and each renderer is a `Voice` of it."""

from __future__ import annotations

import pytest

from channels.discord.cards import DISCORD
from channels.discord.renderer import DiscordRenderer
from channels.slack.blocks import SLACK
from channels.slack.renderer import SlackRenderer
from channels.story import run as story
from channels.story.cards import Choice, Tone, approval_card, approval_outcome, question_card
from channels.story.dialect import Dialect, Icon
from channels.teams.cards import TEAMS
from channels.teams.renderer import TeamsRenderer
from core.events import EventType as E
from core.records import RunEvent

DIALECTS = [SLACK, DISCORD, TEAMS]


def event(kind: str, payload: dict[str, object]) -> RunEvent:
    return RunEvent("run_1", 3, kind, payload, 1_700_000_000.0)


@pytest.mark.parametrize("d", DIALECTS)
def test_every_dialect_has_an_icon_for_every_state(d: Dialect) -> None:
    assert set(d.icons) == set(Icon)


@pytest.mark.parametrize("d", DIALECTS)
def test_the_status_lines_are_the_same_words_behind_each_icon(d: Dialect) -> None:
    def words(kind: str, payload: dict[str, object]) -> str:
        told = story.tell(event(kind, payload), d)
        assert told.status is not None
        return told.status.text.partition(" ")[2]

    assert words(E.RUN_CREATED, {}) == "Working on it…"
    assert words(E.TOOL_CALL_STARTED, {"tool": "lookup_order"}) == "Looking up order…"
    assert words(E.APPROVAL_DECIDED, {"approval_id": "a", "decision": "approved"}) == "Approved, continuing…"
    assert words(E.RUN_COMPLETED, {"answer": "hi"}) == "Done"
    told = story.tell(event(E.RUN_NEEDS_RECONCILIATION, {}), d)
    assert told.note is not None and told.note.text.endswith(story.RECONCILE)


def test_a_card_offers_the_same_buttons_everywhere() -> None:
    payload = {"approval_id": "apr_1", "tool": "refund", "args": {"id": 1}, "tier": "admin"}
    for d in DIALECTS:
        card = approval_card(payload, d)
        assert [(b.label, b.choice, b.style) for b in card.buttons] == [
            ("Approve", Choice.APPROVE, "primary"),
            ("Deny", Choice.DENY, "danger"),
        ]
        assert card.arguments == (("id", "1"),)
        asked = question_card({"question_id": "q_1", "options": ["A", "B"]}, d)
        assert [(b.label, b.option) for b in asked.buttons] == [("A", 0), ("B", 1)]
    denied = approval_outcome({"approval_id": "a", "decision": "denied", "reason": "no"}, 0.0, TEAMS)
    assert denied.tone is Tone.DENIED and denied.reason == "Reason: no"


def test_the_renderers_are_voices_of_the_story() -> None:
    voices: list[story.Voice] = [SlackRenderer(), DiscordRenderer(), TeamsRenderer()]
    assert [v.dialect for v in voices] == DIALECTS
