"""The refund demo in Teams: a question card, an admin approval card, clicks by the wrong people
(refused, told only them, nothing decided) and the right ones, cards replaced by their decided
form; and a click that still works after the service restarted while the run waited."""

from __future__ import annotations

from typing import Any

import httpx

from bots.support.tools import refunds_for
from core.lifecycle import RunStatus
from core.model.gateway import OpenAIGateway
from core.store.context import ContextStore
from tests.channels.teams.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    TENANT,
    TeamsTestbed,
    activity,
    click,
    teams_service,
)
from tests.fakes.teams_connector import FakeTeamsConnector, Posted

ROOT = "1700005000001"
THREAD = f"{CHANNEL};messageid={ROOT}"
MESSAGE = "application/vnd.microsoft.activity.message"


def actions(m: Posted) -> list[dict[str, Any]]:
    return list((m.card or {}).get("actions") or [])


def live_card(fake: FakeTeamsConnector, verb: str) -> Posted | None:
    """The card in the thread that still has a button with this verb."""
    return next((m for m in fake.conversation(THREAD) if any(a["verb"] == verb for a in actions(m))), None)


def card_text(m: Posted) -> str:
    return " ".join(str(e.get("text", "")) for e in (m.card or {}).get("body") or []) + str(m.card)


async def press(bed: TeamsTestbed, who: dict[str, str], action: dict[str, Any], **inputs: str) -> str:
    """Press a button; what the clicker is told."""
    response: httpx.Response = await bed.post(
        click(bed.connector, THREAD, who, action["verb"], {**action["data"], **inputs})
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["statusCode"] == 200 and body["type"] == MESSAGE
    return str(body["value"])


async def answer_the_question(bed: TeamsTestbed) -> None:
    fake = bed.connector
    await bed.post(activity(fake, "please refund order 42", activity_id=ROOT))
    await bed.settle(lambda: live_card(fake, "sb_answer") is not None)
    question = live_card(fake, "sb_answer")
    assert question is not None and question.reply_to == ROOT
    assert [a["title"] for a in actions(question)] == ["defective", "wrong item", "changed mind"]
    assert all(a["type"] == "Action.Execute" for a in actions(question))
    assert "Only Alice Doe can answer." in card_text(question)  # who may answer, named

    first = actions(question)[0]
    told = await press(bed, BOB, first)
    assert told == "Only the person this question was asked of can answer it."
    assert live_card(fake, "sb_approve") is None

    assert await press(bed, ALICE, first) == "Thanks, got it."
    await bed.settle(lambda: live_card(fake, "sb_approve") is not None)
    answered = next(m for m in fake.conversation(THREAD) if m.id == question.id)
    assert actions(answered) == [] and "answered **defective**" in card_text(answered)


async def test_the_refund_demo_in_teams(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector, demo_model: OpenAIGateway
) -> None:
    async with teams_service(database_url, connector, demo_model) as bed:
        await answer_the_question(bed)
        approval = live_card(connector, "sb_approve")
        assert approval is not None and approval.reply_to == ROOT
        text = card_text(approval)
        assert "refund_order" in text and "42" in text and "defective" in text
        assert "Tier: **admin**" in text and "Only an admin can decide." in text
        await bed.settle(
            lambda: connector.conversation(THREAD)[0].text == "🔒 Waiting for approval from an admin"
        )

        approve = actions(approval)[0]
        assert approve["verb"] == "sb_approve" and approve["data"]["approval_id"]
        assert await press(bed, ALICE, approve) == "Only an admin can approve or deny this."
        [run] = await bed.store.runs.find(TENANT)
        assert run.status is RunStatus.WAITING_APPROVAL and refunds_for(run.id) == []
        assert live_card(connector, "sb_approve") is not None  # the card is untouched

        assert await press(bed, ADMIN, approve) == "Approved."
        await bed.settle(lambda: any("Done: I refunded" in m.text for m in connector.conversation(THREAD)))
        await bed.settle(lambda: connector.conversation(THREAD)[0].text == "✅ Done")

        # A late second click changes nothing and says why.
        assert await press(bed, ADMIN, approve) == "Someone already decided this one."

    [run] = await store.runs.find(TENANT)
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run.id)) == 1
    decided = next(m for m in connector.conversation(THREAD) if m.id == approval.id)
    assert actions(decided) == [] and "Input.Text" not in str(decided.card)
    assert "Approved by Ada Admin at {{DATE(" in card_text(decided)
    assert "refund_order" in card_text(decided)  # the card still says what was approved
    answer = next(m.text for m in connector.conversation(THREAD) if "Done: I refunded" in m.text)
    assert answer.startswith("Done: I refunded 59.9 for order 42")


async def test_deny_with_a_reason_from_the_card(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector, demo_model: OpenAIGateway
) -> None:
    async with teams_service(database_url, connector, demo_model) as bed:
        await answer_the_question(bed)
        approval = live_card(connector, "sb_approve")
        assert approval is not None
        deny = actions(approval)[1]
        assert deny["verb"] == "sb_deny"
        assert await press(bed, ADMIN, deny, reason="already refunded by phone") == "Denied."
        await bed.settle(lambda: any("not carried out" in m.text for m in connector.conversation(THREAD)))

    denied = next(m for m in connector.conversation(THREAD) if m.id == approval.id)
    assert actions(denied) == []
    assert "Denied by Ada Admin" in card_text(denied) and "already refunded by phone" in card_text(denied)
    [run] = await store.runs.find(TENANT)
    assert refunds_for(run.id) == []


async def test_a_click_still_works_after_a_restart(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector, demo_model: OpenAIGateway
) -> None:
    async with teams_service(database_url, connector, demo_model) as before:
        await answer_the_question(before)
        await before.settle(lambda: "approval from an admin" in connector.conversation(THREAD)[0].text)
    approval = live_card(connector, "sb_approve")
    assert approval is not None

    # A fresh app, store, key cache and dispatcher on the same database: nothing in memory survived.
    async with teams_service(database_url, connector, demo_model) as after:
        assert await press(after, ADMIN, actions(approval)[0]) == "Approved."
        await after.settle(lambda: any("Done: I refunded" in m.text for m in connector.conversation(THREAD)))
        await after.settle(lambda: connector.conversation(THREAD)[0].text == "✅ Done")

    decided = next(m for m in connector.conversation(THREAD) if m.id == approval.id)
    assert actions(decided) == [] and "Approved by Ada Admin" in card_text(decided)
    [run] = await store.runs.find(TENANT)
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run.id)) == 1
    assert len(connector.conversation(THREAD)) == 4  # progress, question, approval card, answer: none twice
