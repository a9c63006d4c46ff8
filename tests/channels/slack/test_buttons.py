"""The refund demo in Slack: a question card, an admin approval card, clicks by the wrong people
(refused, ephemerally) and the right ones, cards edited once decided, the refund made once; and
a click that still works after the service restarted while the run waited."""

from __future__ import annotations

from typing import Any

import httpx

from bots.support.tools import refunds_for
from core.lifecycle import RunStatus
from core.model.gateway import OpenAIGateway
from core.store.context import ContextStore
from tests.channels.slack.conftest import ADMIN, SlackTestbed, mention, settings_for, slack_service
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi, Message

TENANT = f"slack-{TEAM_ID}"
ROOT = "1700005000.000100"


def buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


def card(api: FakeSlackApi, action_prefix: str, channel: str = "C100") -> Message | None:
    """The message whose buttons start with this action id (a live card)."""
    for m in api.messages(channel):
        if any(b["action_id"].startswith(action_prefix) for b in buttons(m)):
            return m
    return None


def where(m: Message) -> dict[str, Any]:
    return {"channel": m.channel, "ts": m.ts, "thread_ts": m.thread_ts}


def ephemerals(api: FakeSlackApi, user: str) -> list[str]:
    return [
        str(c.args["text"]) for c in api.calls("chat.postEphemeral", ok_only=True) if c.args["user"] == user
    ]


def card_text(m: Message) -> str:
    return " ".join(str(b.get("text", {}).get("text", "")) for b in m.blocks or [])


async def click_ok(bed: SlackTestbed, user: str, action_id: str, value: str, m: Message) -> None:
    response: httpx.Response = await bed.click(user, action_id, value, where(m))
    assert response.status_code == 200, response.text


async def answer_the_question(bed: SlackTestbed) -> None:
    api = bed.api
    await bed.event(mention("please refund order 42", ts=ROOT))
    await bed.settle(lambda: card(api, "sb_answer") is not None)
    question = card(api, "sb_answer")
    assert question is not None and question.thread_ts == ROOT
    options = [b["text"]["text"] for b in buttons(question)]
    assert options == ["defective", "wrong item", "changed mind"]
    assert "<@UALICE>" in card_text(question) + str(question.blocks)  # who may answer, resolved

    first = buttons(question)[0]
    await click_ok(bed, "UBOB", first["action_id"], first["value"], question)  # not asked of Bob
    await bed.settle(lambda: len(ephemerals(api, "UBOB")) == 1)
    assert "Only the person this question was asked of" in ephemerals(api, "UBOB")[0]

    await click_ok(bed, "UALICE", first["action_id"], first["value"], question)
    await bed.settle(lambda: card(api, "sb_approve") is not None)
    answered = next(m for m in api.messages("C100") if m.ts == question.ts)
    assert buttons(answered) == [] and "answered *defective*" in card_text(answered)


async def test_the_refund_demo_in_slack(
    database_url: str, store: ContextStore, slack_api: FakeSlackApi, demo_model: OpenAIGateway
) -> None:
    settings = settings_for(slack_api, admin_channel="CADMIN")
    async with slack_service(database_url, slack_api, demo_model, settings) as bed:
        await answer_the_question(bed)
        approval = card(slack_api, "sb_approve")
        assert approval is not None and approval.thread_ts == ROOT
        text = card_text(approval) + str(approval.blocks)
        assert "refund_order" in text and "42" in text and "defective" in text
        assert "Tier: *admin*" in text and "Only a workspace admin can decide." in text
        await bed.settle(lambda: card(slack_api, "sb_approve", channel="CADMIN") is not None)
        admin_copy = card(slack_api, "sb_approve", channel="CADMIN")
        assert admin_copy is not None  # admin-tier cards go to the admin channel as well
        await bed.settle(
            lambda: slack_api.thread("C100", ROOT)[0].text == ":lock: Waiting for approval from an admin"
        )

        approve = buttons(approval)[0]
        await click_ok(bed, "UALICE", approve["action_id"], approve["value"], approval)
        await bed.settle(lambda: len(ephemerals(slack_api, "UALICE")) == 1)
        assert ephemerals(slack_api, "UALICE") == ["Only an admin can approve or deny this."]
        [run] = await bed.store.runs.find(TENANT)
        assert run.status is RunStatus.WAITING_APPROVAL and refunds_for(run.id) == []

        await click_ok(bed, ADMIN, approve["action_id"], approve["value"], admin_copy)
        await bed.settle(lambda: any("Done: I refunded" in m.text for m in slack_api.thread("C100", ROOT)))
        await bed.settle(lambda: slack_api.thread("C100", ROOT)[0].text == ":white_check_mark: Done")

        # A late second click changes nothing and says why.
        await click_ok(bed, ADMIN, approve["action_id"], approve["value"], approval)
        await bed.settle(lambda: len(ephemerals(slack_api, ADMIN)) == 1)
        assert ephemerals(slack_api, ADMIN) == ["Someone already decided this one."]

    [run] = await store.runs.find(TENANT)
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run.id)) == 1
    for message in (approval, admin_copy):
        decided = next(m for m in slack_api.messages(message.channel) if m.ts == message.ts)
        assert buttons(decided) == []
        assert f"Approved by <@{ADMIN}> at <!date^" in card_text(decided)
        assert "refund_order" in card_text(decided)  # the card still says what was approved
    answer = next(m.text for m in slack_api.thread("C100", ROOT) if "Done: I refunded" in m.text)
    assert answer.startswith("Done: I refunded 59.9 for order 42")


async def test_deny_with_a_reason_through_the_modal(
    database_url: str, store: ContextStore, slack_api: FakeSlackApi, demo_model: OpenAIGateway
) -> None:
    async with slack_service(database_url, slack_api, demo_model) as bed:
        await answer_the_question(bed)
        approval = card(slack_api, "sb_approve")
        assert approval is not None
        deny = buttons(approval)[1]
        assert deny["action_id"] == "sb_deny"
        await click_ok(bed, ADMIN, deny["action_id"], deny["value"], approval)
        [opened] = slack_api.calls("views.open")
        view = opened.args["view"]

        refused = await bed.submit_view("UBOB", view, {"reason": "no"})
        assert refused.status_code == 200 and refused.json()["response_action"] == "errors"
        assert "Only an admin" in refused.json()["errors"]["reason"]

        accepted = await bed.submit_view(ADMIN, view, {"reason": "already refunded by phone"})
        assert accepted.status_code == 200 and accepted.text == ""
        await bed.settle(lambda: any("not carried out" in m.text for m in slack_api.thread("C100", ROOT)))

    denied = next(m for m in slack_api.messages("C100") if m.ts == approval.ts)
    assert buttons(denied) == []
    assert "Denied by <@UADMIN>" in card_text(denied) and "already refunded by phone" in card_text(denied)
    [run] = await store.runs.find(TENANT)
    assert refunds_for(run.id) == []


async def test_a_click_still_works_after_a_restart(
    database_url: str, store: ContextStore, slack_api: FakeSlackApi, demo_model: OpenAIGateway
) -> None:
    async with slack_service(database_url, slack_api, demo_model) as before:
        await answer_the_question(before)
        await before.settle(lambda: "approval from an admin" in slack_api.thread("C100", ROOT)[0].text)
    approval = card(slack_api, "sb_approve")
    assert approval is not None

    # A fresh app, store and dispatcher on the same database: nothing in memory survived.
    async with slack_service(database_url, slack_api, demo_model) as after:
        approve = buttons(approval)[0]
        await click_ok(after, ADMIN, approve["action_id"], approve["value"], approval)
        await after.settle(lambda: any("Done: I refunded" in m.text for m in slack_api.thread("C100", ROOT)))
        await after.settle(lambda: slack_api.thread("C100", ROOT)[0].text == ":white_check_mark: Done")

    decided = next(m for m in slack_api.messages("C100") if m.ts == approval.ts)
    assert buttons(decided) == [] and f"Approved by <@{ADMIN}>" in card_text(decided)
    [run] = await store.runs.find(TENANT)
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run.id)) == 1
    assert len(slack_api.thread("C100", ROOT)) == 4  # status, question, approval card, answer: none twice
