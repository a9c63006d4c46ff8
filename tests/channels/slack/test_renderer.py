"""The Slack renderer is a pure function of a run and its new events: what it queues, under
which keys, and what the cards look like."""

from __future__ import annotations

import json
from typing import Any

from channels.slack.blocks import APPROVE, DENY
from channels.slack.profile import SlackProfile
from channels.slack.renderer import SlackRenderer, progress
from core.outbound import Outbound
from core.records import Run, RunEvent
from tests.channels.testbed import a_run

RUN = a_run(tenant_id="slack-T1", surface="slack", thread_key="C100:1700000000.000100")
THREAD = {"channel": "C100", "thread_ts": "1700000000.000100"}
APPROVAL = {
    "approval_id": "apr_1",
    "key": "k",
    "tool": "refund_order",
    "args": {"order_id": 42, "amount": 59.9, "reason": "<@U1> @channel"},
    "tier": "admin",
    "requester": "usr_alice",
    "expires_at": 1_700_086_400.0,
}


def render(
    kind: str, payload: dict[str, Any], seq: int = 5, profile: SlackProfile | None = None
) -> list[Outbound]:
    return SlackRenderer(profile).render(RUN, [RunEvent(RUN.id, seq, kind, payload, 1_700_000_000.0)])


def test_a_new_run_posts_one_status_message_in_its_thread() -> None:
    [item] = render("RunCreated", {}, seq=1)
    assert item.key == "slack:run_1:status"
    assert item.target == THREAD
    assert item.payload == {
        "op": "post",
        "text": ":hourglass_flowing_sand: Working on it…",
        "assistant": "is working on it…",
    }


def test_progress_edits_that_message_under_a_key_per_event() -> None:
    [item] = render("ToolCallStarted", {"tool": "lookup_order"}, seq=7)
    assert item.key == "slack:run_1:status:7"
    assert item.payload == {
        "op": "update",
        "ref": "slack:run_1:status",
        "seq": 7,
        "text": ":mag: Looking up order…",
        "assistant": "is looking up order…",
    }
    assert progress("frobnicate") == ":gear: Running `frobnicate`…"


def test_the_answer_follows_in_order_and_the_status_says_done() -> None:
    items = render("RunCompleted", {"answer": "x " * 3000}, profile=SlackProfile(message_chars=2000))
    posts = [i for i in items if i.payload["op"] == "post"]
    assert [p.key for p in posts] == ["slack:run_1:answer:0", "slack:run_1:answer:1", "slack:run_1:answer:2"]
    assert posts[0].payload["after"] == "slack:run_1:status"  # the status message opens the run
    assert posts[2].payload["after"] == "slack:run_1:answer:1"
    assert items[-1].payload["text"] == ":white_check_mark: Done"
    assert items[-1].payload["assistant"] == ""  # the assistant thread status is cleared


def test_an_approval_card_shows_the_call_and_carries_only_the_approval_id() -> None:
    status, card = render("ApprovalRequested", APPROVAL)
    assert status.payload["text"] == ":lock: Waiting for approval from an admin"
    assert card.key == "slack:run_1:card:apr_1" and card.target == THREAD
    blocks = card.payload["blocks"]
    text = json.dumps(blocks)
    assert "refund_order" in text and "59.9" in text and "admin" in text
    assert "Only a workspace admin can decide." in text
    assert "<@U1>" not in text and "&lt;@U1&gt;" in text and "@\\u200bchannel" in text
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (APPROVE, "apr_1"),
        (DENY, "apr_1"),
    ]


def test_a_user_tier_card_names_the_requester_for_the_dispatcher_to_resolve() -> None:
    _, card = render("ApprovalRequested", {**APPROVAL, "tier": "user"})
    assert "Only <sb-user:usr_alice> can decide." in json.dumps(card.payload["blocks"])


def test_the_decision_edits_the_card_and_the_admin_channel_copy() -> None:
    profile = SlackProfile(admin_channel="CADMIN")
    _, _, admin_copy = render("ApprovalRequested", APPROVAL, profile=profile)
    assert admin_copy.key == "slack:run_1:card:apr_1:admin" and admin_copy.target == {"channel": "CADMIN"}
    assert "<#C100>" in json.dumps(admin_copy.payload["blocks"])

    decided = {
        "approval_id": "apr_1",
        "tool": "refund_order",
        "decision": "approved",
        "by": "usr_root",
        "reason": None,
    }
    status, card, copy = render("ApprovalDecided", decided, profile=profile)
    assert [card.payload["ref"], copy.payload["ref"]] == [
        "slack:run_1:card:apr_1",
        "slack:run_1:card:apr_1:admin",
    ]
    assert card.payload["card"] is True
    text = card.payload["blocks"][0]["text"]["text"]
    assert text.startswith(":white_check_mark: Approved by <sb-user:usr_root> at <!date^1700000000^")


def test_a_user_tier_request_leaves_a_placeholder_for_the_admin_copy() -> None:
    *_, copy = render(
        "ApprovalRequested", {**APPROVAL, "tier": "user"}, profile=SlackProfile(admin_channel="CA")
    )
    assert copy.payload == {"op": "noop"}


def test_a_question_card_has_one_button_per_option() -> None:
    asked = {
        "question_id": "q_1",
        "key": "k",
        "prompt": "Why **refund**?",
        "options": ["defective", "wrong item"],
        "allow_free_text": True,
        "asked_of": "usr_alice",
        "expires_at": 1_700_086_400.0,
    }
    status, card = render("QuestionAsked", asked)
    assert status.payload["text"] == ":question: Waiting for your answer"
    assert card.key == "slack:run_1:card:q_1"
    buttons = [e for b in card.payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("sb_answer:0", "q_1:0"),
        ("sb_answer:1", "q_1:1"),
        ("sb_answer_text", "q_1"),
    ]
    assert "Why *refund*?" in json.dumps(card.payload["blocks"])

    _, answered = render("QuestionAnswered", {"question_id": "q_1", "answer": "defective", "by": "usr_alice"})
    assert answered.payload["ref"] == "slack:run_1:card:q_1"
    assert "answered *defective*" in answered.payload["blocks"][0]["text"]["text"]


def test_failures_are_said_in_the_thread() -> None:
    status, note = render("RunFailed", {"code": "model_unavailable", "reason": "down"}, seq=9)
    assert status.payload["text"] == ":x: Failed"
    assert note.key == "slack:run_1:failed:9" and "model_unavailable" in note.payload["text"]


def test_a_proactive_run_without_a_thread_posts_at_top_level() -> None:
    run = Run(**{**RUN.__dict__, "thread_key": "C200"})
    [item] = SlackRenderer().render(run, [RunEvent(run.id, 1, "RunCreated", {}, 0.0)])
    assert item.target == {"channel": "C200"}


def test_events_slack_does_not_show_render_nothing() -> None:
    assert render("ModelCalled", {"step": 1}) == []
    assert render("CheckpointWritten", {}) == []


def test_an_answers_citations_become_slack_links_or_titles_for_paths() -> None:
    answer = (
        "Create the app from the manifest [1].\n\n"
        "[1] Connect to Slack, https://docs.example.test/slack?a=1&b=2 (part 3)\n[2] Run_book <ops>, runbooks/pager.md"
    )
    post = render("RunCompleted", {"answer": answer})[0]
    text = post.payload["text"]
    assert "*Sources*" in text
    assert "1. <https://docs.example.test/slack?a=1&amp;b=2|Connect to Slack>" in text
    assert "2. Run book ‹ops› (`runbooks/pager.md`)" in text
    assert "[1] Connect" not in text
