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


# Citations: the answer's trailing "[ref] title, source" lines become a Sources block.

CITED = (
    "Create the app from the manifest [1], then set the secrets [2].\n\n"
    "[1] Connect to Slack, https://docs.example.test/slack (part 3)\n"
    "[2] README, docs/README.md"
)


def test_trailing_citation_lines_become_a_markdown_sources_block() -> None:
    from channels.story.citations import Citation, split, with_sources

    body, cited = split(CITED)
    assert body == "Create the app from the manifest [1], then set the secrets [2]."
    assert cited == (
        Citation(1, "Connect to Slack", "https://docs.example.test/slack"),
        Citation(2, "README", "docs/README.md"),
    )
    assert with_sources(CITED) == (
        f"{body}\n\n**Sources**\n1. [Connect to Slack](https://docs.example.test/slack)\n"
        "2. README (`docs/README.md`)"
    )


def test_an_answer_without_citations_is_unchanged_and_untrusted_titles_stay_inert() -> None:
    from channels.story.citations import with_sources

    assert with_sources("Just an answer.\n\n[see below]") == "Just an answer.\n\n[see below]"
    evil = "ok\n[1] [click](https://evil.test) *x*, javascript:alert(1)\n[2] t, https://x.test/a b"
    out = with_sources(evil)
    assert "](https://evil.test)" not in out and "javascript:alert(1)`" in out  # a path, not a link
    assert "[" not in out.split("**Sources**")[1].split("\n")[1]
    assert "(https://x.test/a b)" not in out  # a "URL" with a space is not one


def test_citations_recorded_with_the_answer_win_over_the_text() -> None:
    from channels.story.citations import with_sources

    recorded = [{"ref": 1, "title": "Guide", "source": "https://g.test/x_(y)"}]
    out = with_sources(CITED, recorded)
    assert out.endswith("**Sources**\n1. [Guide](https://g.test/x_%28y%29)")
    assert "README" not in out
