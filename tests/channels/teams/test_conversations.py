"""Teams messages → runs → replies: an @mention in a channel answered in its thread, a personal
chat, a group chat that ignores what is not addressed to the bot, redeliveries dropped, and the
conversation reference stored for later (proactive) posts."""

from __future__ import annotations

from channels.teams import post_to_conversation
from core.store.context import ContextStore
from tests.channels.teams.conftest import (
    ALICE,
    CHANNEL,
    GROUP,
    PERSONAL,
    TENANT,
    TeamsTestbed,
    activity,
)


async def test_a_mention_in_a_channel_is_answered_in_its_thread(bed: TeamsTestbed) -> None:
    fake = bed.connector
    response = await bed.post(activity(fake, "where is order 42?", activity_id="1700000000001"))
    assert response.status_code == 200
    thread = f"{CHANNEL};messageid=1700000000001"
    await bed.settle(lambda: any("You said" in m.text for m in fake.conversation(thread)))
    await bed.settle(lambda: fake.conversation(thread)[0].text == "✅ Done")

    status, answer = fake.conversation(thread)
    assert answer.text == "You said: where is order 42?"  # the mention stripped
    assert answer.reply_to == "1700000000001" and status.reply_to == "1700000000001"
    assert answer.activity["textFormat"] == "markdown"
    assert answer.activity["from"]["id"] == f"28:{fake.app_id}"
    assert status.edits >= 1  # one progress message, updated in place
    assert fake.typing(thread) == 1
    assert {c.body.get("client_id") for c in fake.calls("token")} == {fake.app_id}

    [run] = await bed.store.runs.find(TENANT)
    assert run.surface == "teams" and run.thread_key == thread
    user = await bed.store.directory.get_user(TENANT, run.user_id)
    assert user.name == "Alice Doe"


async def test_a_follow_up_in_the_thread_continues_the_session(bed: TeamsTestbed) -> None:
    fake = bed.connector
    await bed.post(activity(fake, "first", activity_id="1700000000010"))
    thread = f"{CHANNEL};messageid=1700000000010"
    await bed.settle(lambda: any("You said: first" in m.text for m in fake.conversation(thread)))
    await bed.post(activity(fake, "second", conversation=thread, activity_id="1700000000011"))
    await bed.settle(lambda: any("You said: second" in m.text for m in fake.conversation(thread)))
    runs = await bed.store.runs.find(TENANT)
    assert len(runs) == 2 and len({r.session_id for r in runs}) == 1


async def test_a_personal_chat_needs_no_mention(bed: TeamsTestbed) -> None:
    fake = bed.connector
    await bed.post(activity(fake, "hello there", kind="personal", mention=False))
    await bed.settle(lambda: any("You said: hello there" in m.text for m in fake.conversation(PERSONAL)))
    await bed.settle(lambda: fake.conversation(PERSONAL)[0].text == "✅ Done")
    assert all(m.reply_to is None for m in fake.conversation(PERSONAL))


async def test_a_group_chat_answers_mentions_only(bed: TeamsTestbed) -> None:
    fake = bed.connector
    assert (
        await bed.post(activity(fake, "just chatting", kind="groupChat", mention=False))
    ).status_code == 200
    await bed.post(activity(fake, "hey bot", kind="groupChat"))
    await bed.settle(lambda: any("You said: hey bot" in m.text for m in fake.conversation(GROUP)))
    assert len(await bed.store.runs.find(TENANT)) == 1


async def test_a_redelivered_activity_runs_once(bed: TeamsTestbed) -> None:
    fake = bed.connector
    body = activity(fake, "only once", kind="personal", mention=False, activity_id="1700000000020")
    for _ in range(3):
        assert (await bed.post(body)).status_code == 200
    await bed.settle(lambda: any("only once" in m.text for m in fake.conversation(PERSONAL)))
    assert len(await bed.store.runs.find(TENANT)) == 1
    assert sum("only once" in m.text for m in fake.conversation(PERSONAL)) == 1


async def test_our_own_messages_and_other_activities_are_ignored(bed: TeamsTestbed) -> None:
    fake = bed.connector
    ours = activity(
        fake, "echo", kind="personal", mention=False, sender={"id": f"28:{fake.app_id}", "name": "Bot"}
    )
    update = activity(fake, kind="personal", mention=False) | {"type": "conversationUpdate"}
    assert (await bed.post(ours)).status_code == 200
    assert (await bed.post(update)).status_code == 200
    assert await bed.store.runs.find(TENANT) == []


async def test_a_stored_conversation_takes_proactive_posts(bed: TeamsTestbed, store: ContextStore) -> None:
    fake = bed.connector
    await bed.post(activity(fake, "hi", kind="personal", mention=False))
    await bed.settle(lambda: any("You said: hi" in m.text for m in fake.conversation(PERSONAL)))
    stored = await bed.channel.conversations.get(TENANT, PERSONAL)
    assert stored is not None and stored.service_url == fake.service_url
    assert stored.reference["user"]["aadObjectId"] == ALICE["aadObjectId"]
    assert await bed.channel.conversations.get("teams-another-tenant", PERSONAL) is None

    report = "Daily report: **3** refunds <at>everyone</at>"
    for _ in range(2):  # the same fire twice: one post
        await post_to_conversation(
            bed.store.outbox,
            tenant_id=TENANT,
            conversation_key=PERSONAL,
            markdown=report,
            dedupe_key="fire-1",
        )
    await bed.settle(lambda: any("Daily report" in m.text for m in fake.conversation(PERSONAL)))
    [posted] = [m for m in fake.conversation(PERSONAL) if "Daily report" in m.text]
    assert posted.text == "Daily report: **3** refunds &lt;at&gt;everyone&lt;/at&gt;"
    assert sum("Daily report" in m.text for m in fake.conversation(PERSONAL)) == 1
