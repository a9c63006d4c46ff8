"""The Discord renderer is a pure function of a run and its new events: what it queues, under
which keys and where, and what the cards look like."""

from __future__ import annotations

from typing import Any

from channels.discord.cards import parse_custom_id
from channels.discord.renderer import DiscordRenderer, progress
from core.outbound import Outbound
from core.records import Run, RunEvent
from tests.channels.testbed import a_run

RUN = a_run(tenant_id="discord-G1", surface="discord", thread_key="C100:M200")
THREAD = {"channel": "M200", "parent": "C100", "thread_name": "Switchboard"}
APPROVAL = {
    "approval_id": "apr_1",
    "tool": "refund_order",
    "args": {"order_id": 42, "reason": "<@123> @everyone"},
    "tier": "admin",
    "requester": "usr_alice",
    "expires_at": 1_700_086_400.0,
}


def render(kind: str, payload: dict[str, Any], seq: int = 5) -> list[Outbound]:
    return DiscordRenderer().render(RUN, [RunEvent(RUN.id, seq, kind, payload, 1_700_000_000.0)])


def test_a_new_run_posts_its_progress_message_in_its_thread_and_types() -> None:
    post, typing = render("RunCreated", {}, seq=1)
    assert post.key == "discord:run_1:status" and post.target == THREAD
    assert post.payload == {"op": "post", "message": {"content": "⏳ Working on it…"}}
    assert typing.payload == {"op": "typing"} and typing.key == "discord:run_1:typing:1"


def test_progress_edits_that_message_under_a_key_per_event() -> None:
    edit, _ = render("ToolCallStarted", {"tool": "lookup_order"}, seq=7)
    assert edit.key == "discord:run_1:status:7"
    assert edit.payload == {
        "op": "edit",
        "ref": "discord:run_1:status",
        "seq": 7,
        "message": {"content": "🔎 Looking up order…"},
    }
    assert progress("frobnicate") == "⚙️ Running `frobnicate`…"


def test_a_dm_run_posts_in_the_dm() -> None:
    dm = Run(**{**RUN.__dict__, "thread_key": "D300:"})
    [post, _] = DiscordRenderer().render(dm, [RunEvent(dm.id, 1, "RunCreated", {}, 0.0)])
    assert post.target == {"channel": "D300"}


def test_the_answer_is_split_and_follows_in_order() -> None:
    items = render("RunCompleted", {"answer": "word " * 1000})
    posts = [i for i in items if i.payload["op"] == "post"]
    assert [p.key for p in posts] == [
        "discord:run_1:answer:0",
        "discord:run_1:answer:1",
        "discord:run_1:answer:2",
    ]
    assert posts[0].payload["after"] == "discord:run_1:status"
    assert posts[1].payload["after"] == "discord:run_1:answer:0"
    assert all(len(p.payload["message"]["content"]) <= 2000 for p in posts)
    assert items[-1].payload["message"] == {"content": "✅ Done"}


def test_an_approval_card_has_buttons_naming_the_approval_and_neutralised_arguments() -> None:
    status, post = render("ApprovalRequested", APPROVAL)
    assert status.payload["message"]["content"] == "🔒 Waiting for approval from an admin"
    assert post.key == "discord:run_1:card:apr_1" and post.payload["card"] is True
    message = post.payload["message"]
    ids = [b["custom_id"] for row in message["components"] for b in row["components"]]
    assert ids == ["sb:appr:apr_1:approve", "sb:appr:apr_1:deny"]
    assert [parse_custom_id(i) for i in ids] == [
        parse_custom_id("sb:appr:apr_1:approve"),
        parse_custom_id("sb:appr:apr_1:deny"),
    ]
    reason = next(f for f in message["embeds"][0]["fields"] if f["name"] == "reason")
    assert reason["value"] == "<@\u200b123> @\u200beveryone"
    assert "Expires <t:1700086400:f>" in str(message)


def test_a_decision_edits_the_card_and_removes_its_buttons() -> None:
    decided = {"approval_id": "apr_1", "decision": "denied", "by": "usr_root", "reason": "no"}
    _, edit = render("ApprovalDecided", decided)
    assert edit.key == "discord:run_1:card:apr_1:decided"
    assert edit.payload["op"] == "edit" and edit.payload["card"] is True
    assert edit.payload["embed"]["description"].startswith("🚫 Denied by <sb-user:usr_root> at <t:")


def test_a_question_card_has_one_button_per_option() -> None:
    asked = {
        "question_id": "qst_1",
        "prompt": "Why?",
        "options": ["defective", "x" * 100],
        "asked_of": "usr_alice",
    }
    _, post = render("QuestionAsked", asked)
    buttons = post.payload["message"]["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == ["sb:q:qst_1:0", "sb:q:qst_1:1"]
    assert len(buttons[1]["label"]) == 80  # a long option is shortened on its button …
    assert "x" * 100 in post.payload["message"]["embeds"][0]["description"]  # … and listed in full


def test_custom_ids_that_are_not_ours_are_ignored() -> None:
    assert parse_custom_id("other:thing") is None
    assert parse_custom_id("sb:appr:") is None


def test_an_answers_citations_become_markdown_links() -> None:
    answer = (
        "Rotate the pager weekly [1].\n\n[1] Pager, https://wiki.example.test/pager\n[2] Policy, policy.pdf"
    )
    post = render("RunCompleted", {"answer": answer})[0]
    content = post.payload["message"]["content"]
    assert content.endswith(
        "**Sources**\n1. [Pager](https://wiki.example.test/pager)\n2. Policy (`policy.pdf`)"
    )
