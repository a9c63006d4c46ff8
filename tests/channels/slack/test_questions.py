"""Questions answered in one's own words, admins from a user group, and the sink's manners:
status edits throttled, an older edit never overwriting a newer one."""

from __future__ import annotations

import json

from channels.delivery import SinkOptions
from channels.slack.sink import SlackSink
from core.model.port import Message
from core.outbox_dispatcher import DeliveryRetry
from core.records import Role
from core.store.context import ContextStore
from core.store.outbox import OutboxItem
from tests.channels.slack.conftest import mention, settings_for, slack_service
from tests.channels.testbed import last_user_text
from tests.conftest import TenantFixture
from tests.fakes.models import Call, FunctionModel, Reply, Say
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi
from tests.fakes.slack_api import Message as SlackMessage

TENANT = f"slack-{TEAM_ID}"


def asking(messages: list[Message]) -> Reply:
    tool_results = [m for m in messages if m["role"] == "tool"]
    if not tool_results:
        return [
            Call(
                "ask_user", {"question": "Which colour?", "options": ["red", "blue"], "allow_free_text": True}
            )
        ]
    return Say(
        f"Noted: {json.loads(str(tool_results[-1]['content']))['answer']} (asked: {last_user_text(messages)})"
    )


def buttons(m: SlackMessage) -> list[dict[str, object]]:
    return [e for b in m.blocks or [] if b["type"] == "actions" for e in b["elements"]]


async def test_a_question_answered_in_ones_own_words(
    database_url: str, store: ContextStore, slack_api: FakeSlackApi
) -> None:
    root = "1700006000.000100"
    async with slack_service(database_url, slack_api, FunctionModel(asking)) as bed:
        await bed.event(mention("paint it", ts=root))
        await bed.settle(lambda: any(buttons(m) for m in slack_api.thread("C100", root)))
        card = next(m for m in slack_api.thread("C100", root) if buttons(m))
        free = buttons(card)[-1]
        assert free["action_id"] == "sb_answer_text"
        where = {"channel": "C100", "ts": card.ts, "thread_ts": root}
        assert (await bed.click("UALICE", "sb_answer_text", str(free["value"]), where)).status_code == 200
        [opened] = slack_api.calls("views.open")
        response = await bed.submit_view("UALICE", opened.args["view"], {"answer": "teal, please"})
        assert response.status_code == 200
        await bed.settle(lambda: any("Noted: teal, please" in m.text for m in slack_api.thread("C100", root)))
    answered = next(m for m in slack_api.thread("C100", root) if m.ts == card.ts)
    assert buttons(answered) == [] and "answered *teal, please*" in json.dumps(answered.blocks)


async def test_members_of_the_admin_user_group_are_admins(
    database_url: str, store: ContextStore, slack_api: FakeSlackApi
) -> None:
    slack_api.set_group_members(["UGROUPIE"])
    settings = settings_for(slack_api, admin_user_group="SADMINS")
    async with slack_service(database_url, slack_api, FunctionModel(lambda _: Say("ok")), settings) as bed:
        await bed.event(mention("hi", user="UGROUPIE", ts="1700006100.000100"))
        await bed.event(mention("hi", user="UPLAIN", ts="1700006200.000100"))
        await bed.settle(lambda: len(slack_api.calls("chat.postMessage", ok_only=True)) == 4)
    groupie = await store.directory.resolve_identity(TENANT, "slack", "UGROUPIE")
    plain = await store.directory.resolve_identity(TENANT, "slack", "UPLAIN")
    assert (groupie.role, plain.role) == (Role.ADMIN, Role.MEMBER)
    assert len(slack_api.calls("usergroups.users.list")) == 1  # cached, not asked per message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_status_edits_are_throttled_and_never_go_backwards(
    store: ContextStore, tenant: TenantFixture, slack_api: FakeSlackApi
) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token="xoxb-test-token", base_url=slack_api.base_url, retry_handlers=[])
    status = await client.chat_postMessage(channel="C1", text="working")
    await store.outbox.put(
        tenant_id=tenant.id, surface="slack", dedupe_key="slack:r:status", target={}, payload={}
    )
    [posted] = await store.outbox.claim_due("slack")
    await store.outbox.delivered(posted.id, {"ts": status["ts"], "channel": "C1"})
    clock = Clock()

    async def anyone(tenant_id: str, user_id: str) -> str:
        return user_id

    sink = SlackSink(client, store.outbox, anyone, SinkOptions(edit_interval_s=1.0), clock=clock)

    def edit(seq: int) -> OutboxItem:
        payload = {"op": "update", "ref": "slack:r:status", "text": f"edit {seq}", "seq": seq}
        return OutboxItem(f"out_{seq}", tenant.id, "slack", "r", {}, payload, 0)

    await sink.deliver(edit(5))
    clock.now += 0.4
    try:
        await sink.deliver(edit(6))
        raise AssertionError("a second edit within a second must wait")
    except DeliveryRetry as exc:
        assert abs(exc.after_s - 0.6) < 1e-6
    clock.now += 0.6
    await sink.deliver(edit(7))
    assert await sink.deliver(edit(6)) == {"superseded": True}  # late and older: dropped
    assert [c.args["text"] for c in slack_api.calls("chat.update")] == ["edit 5", "edit 7"]
    assert sink.coalesce_key(edit(8)) == "slack:r:status"
