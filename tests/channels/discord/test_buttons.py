"""The refund demo in Discord: a question card, an admin approval card, clicks by the wrong people
(refused, ephemerally, nothing decided) and the right ones, cards edited once decided, the refund
made once; and a click that still works after the channel restarted while the run waited."""

from __future__ import annotations

from bots.support.tools import refunds_for
from core.lifecycle import RunStatus
from core.model.gateway import OpenAIGateway
from core.store.context import ContextStore
from tests.channels.discord.conftest import ADMIN, ALICE, BOB, TENANT, DiscordTestbed, discord_service
from tests.fakes.discord_api import FakeDiscord, Message


def card(fake: FakeDiscord, thread: str, prefix: str) -> Message | None:
    """The live card (a message with buttons) whose custom ids start with `prefix`."""
    for m in fake.messages(thread):
        if any(b["custom_id"].startswith(prefix) for b in m.buttons()):
            return m
    return None


def now(fake: FakeDiscord, message: Message) -> Message:
    return fake.messages_by_id[message.id]


async def answer_the_question(bed: DiscordTestbed) -> str:
    fake = bed.fake
    root = fake.say(ALICE, "please refund order 42")
    await bed.settle(lambda: card(fake, root, "sb:q:") is not None)
    question = card(fake, root, "sb:q:")
    assert question is not None
    assert [b["label"] for b in question.buttons()] == ["defective", "wrong item", "changed mind"]
    assert f"Only <@{ALICE.id}> can answer." in question.text()  # who may answer, resolved
    first = question.buttons()[0]["custom_id"]

    fake.click(BOB, question, first)  # not asked of Bob
    await bed.settle(lambda: len(fake.ephemeral_to(BOB.id)) == 1)
    assert fake.ephemeral_to(BOB.id) == ["Only the person this question was asked of can answer it."]
    assert now(fake, question).buttons()  # still open

    fake.click(ALICE, question, first)
    await bed.settle(lambda: card(fake, root, "sb:appr:") is not None)
    answered = now(fake, question)
    assert answered.buttons() == [] and f"<@{ALICE.id}> answered **defective**" in answered.text()
    return root


async def test_the_refund_demo_in_discord(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord, demo_model: OpenAIGateway
) -> None:
    fake = fake_discord
    async with discord_service(database_url, fake, demo_model) as bed:
        root = await answer_the_question(bed)
        approval = card(fake, root, "sb:appr:")
        assert approval is not None
        text = approval.text()
        assert "refund_order" in text and "42" in text and "defective" in text
        assert "Tier: **admin** · Only an admin can decide." in text
        await bed.settle(lambda: fake.messages(root)[0].content == "🔒 Waiting for approval from an admin")
        approve = approval.buttons()[0]["custom_id"]
        assert approve.startswith("sb:appr:") and approve.endswith(":approve")

        fake.click(ALICE, approval, approve)  # the requester is not an admin
        await bed.settle(lambda: len(fake.ephemeral_to(ALICE.id)) == 1)
        assert fake.ephemeral_to(ALICE.id) == ["Only an admin can approve or deny this."]
        [run] = await bed.store.runs.find(TENANT)
        assert run.status is RunStatus.WAITING_APPROVAL and refunds_for(run.id) == []

        fake.click(ADMIN, approval, approve)  # an admin by the configured role
        await bed.settle(lambda: any("Done: I refunded" in m.content for m in fake.messages(root)))
        await bed.settle(lambda: fake.messages(root)[0].content == "✅ Done")

        fake.click(ADMIN, approval, approve)  # a late second click changes nothing and says why
        await bed.settle(lambda: len(fake.ephemeral_to(ADMIN.id)) == 1)
        assert fake.ephemeral_to(ADMIN.id) == ["Someone already decided this one."]

    [run] = await store.runs.find(TENANT)
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run.id)) == 1
    decided = now(fake, approval)
    assert decided.buttons() == [] and f"Approved by <@{ADMIN.id}> at <t:" in decided.text()
    assert "refund_order" in decided.text()  # the card still says what was approved
    answer = next(m.content for m in fake.messages(root) if "Done: I refunded" in m.content)
    assert answer.startswith("Done: I refunded 59.9 for order 42")
    # Every click was acknowledged at once (a deferred update), before anything was decided.
    assert [c.body["type"] for c in fake.calls("callback") if c.body] == [6] * 5


async def test_a_click_still_works_after_a_restart(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord, demo_model: OpenAIGateway
) -> None:
    fake = fake_discord
    async with discord_service(database_url, fake, demo_model) as before:
        root = await answer_the_question(before)
        await before.settle(lambda: "approval from an admin" in fake.messages(root)[0].content)
    approval = card(fake, root, "sb:appr:")
    assert approval is not None

    # A fresh client, store and dispatcher on the same database: nothing in memory survived.
    async with discord_service(database_url, fake, demo_model) as after:
        assert after.channel.client.get_channel(int(root)) is not None  # the thread, from GUILD_CREATE
        fake.click(ADMIN, approval, approval.buttons()[0]["custom_id"])
        await after.settle(lambda: any("Done: I refunded" in m.content for m in fake.messages(root)))
        await after.settle(lambda: fake.messages(root)[0].content == "✅ Done")

    decided = now(fake, approval)
    assert decided.buttons() == [] and f"Approved by <@{ADMIN.id}>" in decided.text()
    [run] = await store.runs.find(TENANT)
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run.id)) == 1
    assert len(fake.messages(root)) == 4  # progress, question, approval card, answer: none twice
    assert fake.identified == 2
