"""Slack events in, threaded answers out: through slack-bolt, signed for real, on a real store."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from channels.slack.profile import thread_key
from core.lifecycle import RunStatus
from core.records import Role
from core.store.schema import inbound_events
from tests.channels.slack.conftest import ADMIN, SECRET, SlackTestbed, mention, message
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, TEAM_ID, sign

TENANT = f"slack-{TEAM_ID}"


async def runs_in(bed: SlackTestbed) -> int:
    if not await bed.store.directory.tenant_exists(TENANT):
        return 0
    return len(await bed.store.runs.find(TENANT))


async def test_a_mention_gets_a_threaded_answer_and_one_status_message(bed: SlackTestbed) -> None:
    response = await bed.event(mention("where is my order?", ts="1700000100.000100"))
    assert response.status_code == 200

    thread = lambda: bed.api.thread("C100", "1700000100.000100")  # noqa: E731
    await bed.settle(lambda: len(thread()) == 2 and "Done" in thread()[0].text)
    status, answer = thread()
    assert answer.text == "You said: where is my order?"
    assert status.edits >= 1  # one status message, edited in place: not a flood of messages
    [run] = await bed.store.runs.find(TENANT)
    assert (run.surface, run.thread_key, run.status) == (
        "slack",
        "C100:1700000100.000100",
        RunStatus.COMPLETED,
    )
    alice = await bed.store.directory.resolve_identity(TENANT, "slack", "UALICE")
    assert run.user_id == alice.id and alice.role is Role.MEMBER


async def test_a_direct_message_is_answered_in_its_thread(bed: SlackTestbed) -> None:
    await bed.event(message("hello there", channel="D42", channel_type="im", ts="1700000300.000100"))
    await bed.settle(
        lambda: any("You said: hello there" in m.text for m in bed.api.thread("D42", "1700000300.000100"))
    )
    [run] = await bed.store.runs.find(TENANT)
    assert run.thread_key == "D42:1700000300.000100"


async def test_a_follow_up_in_a_conversation_thread_needs_no_mention(bed: SlackTestbed) -> None:
    root = "1700000100.000100"
    await bed.event(mention("first question", ts=root))
    await bed.settle(lambda: any("first question" in m.text for m in bed.api.thread("C100", root)))

    await bed.event(message("and a follow-up", user="UBOB", ts="1700000150.000100", thread_ts=root))
    await bed.event(message("chatter elsewhere", ts="1700000160.000100", thread_ts="1699999999.000100"))
    await bed.event(message("top-level chatter", ts="1700000170.000100"))
    await bed.settle(lambda: any("and a follow-up" in m.text for m in bed.api.thread("C100", root)))

    runs = await bed.store.runs.find(TENANT)
    assert len(runs) == 2  # the unrelated thread and the top-level message started nothing
    assert {r.session_id for r in runs} == {runs[0].session_id}  # one thread, one session
    bob = await bed.store.directory.resolve_identity(TENANT, "slack", "UBOB")
    assert any(r.user_id == bob.id for r in runs)  # the run knows who asked


async def test_a_mention_is_handled_once_though_slack_also_sends_it_as_a_message(bed: SlackTestbed) -> None:
    event = mention("hi", ts="1700000400.000100")
    await bed.event(event)
    await bed.event({**event, "type": "message", "channel_type": "channel"})
    await bed.settle(lambda: any("You said" in m.text for m in bed.api.thread("C100", "1700000400.000100")))
    assert await runs_in(bed) == 1


async def test_a_retried_event_is_processed_once_and_an_unseen_retry_is_processed(bed: SlackTestbed) -> None:
    event = mention("once please", ts="1700000500.000100")
    assert (await bed.event(event, event_id="EvDUP")).status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    again = await bed.event(event, event_id="EvDUP", extra=retry)
    assert again.status_code == 200
    assert await runs_in(bed) == 1

    # A retry of a delivery we never recorded (the first attempt never reached the store).
    unseen = mention("lost the first time", ts="1700000600.000100")
    assert (await bed.event(unseen, event_id="EvRETRIED", extra=retry)).status_code == 200
    assert await runs_in(bed) == 2
    await bed.settle(lambda: len(bed.api.thread("C100", "1700000500.000100")) == 2)
    assert len(bed.api.thread("C100", "1700000500.000100")) == 2  # one status and one answer


async def test_forged_and_stale_signatures_get_401_and_change_nothing(bed: SlackTestbed) -> None:
    forged = await bed.event(mention("hack"), headers=sign("not-the-secret", b"{}"))
    stale_body_headers = {
        "X-Slack-Request-Timestamp": str(int(time.time()) - 3600),
        "X-Slack-Signature": "v0=00",
    }
    stale = await bed.event(mention("old"), headers=stale_body_headers)
    assert (forged.status_code, stale.status_code) == (401, 401)
    assert not await bed.store.directory.tenant_exists(TENANT)
    count = select(func.count()).select_from(inbound_events)
    assert await bed.store.db.run(lambda conn: conn.execute(count).scalar_one()) == 0
    assert bed.api.calls() == []  # not even auth.test: nothing happened


async def test_a_stale_but_correctly_signed_request_is_refused(bed: SlackTestbed) -> None:
    body = b'{"type": "event_callback"}'
    response = await bed.post(body, "application/json", headers=sign(SECRET, body, int(time.time()) - 600))
    assert response.status_code == 401


async def test_bots_are_ignored_and_the_bot_never_answers_itself(bed: SlackTestbed) -> None:
    root = "1700000700.000100"
    await bed.event(mention("start", ts=root))
    await bed.settle(lambda: any("You said: start" in m.text for m in bed.api.thread("C100", root)))

    ours = message("You said: start", user=BOT_USER_ID, bot_id=BOT_ID, ts="1700000701.000100", thread_ts=root)
    other_bot = message("beep", user="UOTHERBOT", bot_id="BOTHER", ts="1700000702.000100", thread_ts=root)
    bot_subtype = message(
        "boop", subtype="bot_message", bot_id="BOTHER", ts="1700000703.000100", thread_ts=root
    )
    for event in (ours, other_bot, bot_subtype):
        assert (await bed.event(event)).status_code == 200
    edited = message("edit", subtype="message_changed", ts="1700000704.000100", thread_ts=root)
    assert (await bed.event(edited)).status_code == 200
    assert await runs_in(bed) == 1


async def test_an_admin_from_settings_is_an_admin(bed: SlackTestbed) -> None:
    await bed.event(mention("hi from the admin", user=ADMIN, ts="1700000800.000100"))
    await bed.settle(
        lambda: any("hi from the admin" in m.text for m in bed.api.thread("C100", "1700000800.000100"))
    )
    admin = await bed.store.directory.resolve_identity(TENANT, "slack", ADMIN)
    assert admin.role is Role.ADMIN


async def test_the_model_cannot_ping_the_channel(bed: SlackTestbed) -> None:
    await bed.event(mention("@channel <!here> <@U999> & friends", ts="1700000900.000100"))
    thread = lambda: bed.api.thread("C100", "1700000900.000100")  # noqa: E731
    await bed.settle(lambda: any("You said" in m.text for m in thread()))
    answer = next(m.text for m in thread() if "You said" in m.text)
    assert "<!" not in answer and "<@" not in answer and "@channel" not in answer
    assert "&lt;!here&gt;" in answer and "&amp; friends" in answer


def test_thread_keys_name_the_channel_and_the_first_message() -> None:
    assert thread_key("C1", "1700000000.000100") == "C1:1700000000.000100"
