"""Button clicks and modals → decisions. The core decides who may decide; a refused click gets an
ephemeral explanation (only the clicker sees it) and changes nothing. Once a decision is
recorded, the renderer edits the card: the click handler itself never posts the outcome.

Approve decides at once. Deny opens a small modal for an optional reason. Option buttons answer
a question; "Answer in my own words…" opens a modal with a text field.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels import refusals
from channels.slack import blocks
from channels.slack.identity import SlackDirectory
from channels.slack.mrkdwn import escape
from channels.slack.profile import SURFACE
from core.errors import InvalidInput, MisuseError
from core.runtime import Runtime
from core.store.outbox import OutboxStore
from core.store.records import Principal

log = logging.getLogger(__name__)

DENY_VIEW = "sb_deny_reason"
FREE_TEXT_VIEW = "sb_free_text"


def explain(exc: MisuseError) -> str:
    """What to tell the person whose click was refused, in mrkdwn."""
    return refusals.explain(exc, escape)


class SlackActions:
    def __init__(self, runtime: Runtime, people: SlackDirectory, outbox: OutboxStore) -> None:
        self._runtime = runtime
        self._people = people
        self._outbox = outbox

    def register(self, app: AsyncApp) -> None:
        app.action(blocks.APPROVE)(self.on_approve)
        app.action(blocks.DENY)(self.on_deny)
        app.action(re.compile(rf"^{blocks.ANSWER}:\d+$"))(self.on_option)
        app.action(blocks.ANSWER_TEXT)(self.on_free_text)
        app.view(DENY_VIEW)(self.on_deny_submitted)
        app.view(FREE_TEXT_VIEW)(self.on_free_text_submitted)

    async def on_approve(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        who = await self._who(context)
        try:
            await self._runtime.decide(who, str(action["value"]), approve=True)
        except MisuseError as exc:
            await self._refuse(body, context, exc)

    async def on_deny(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        field = {"type": "plain_text_input", "action_id": "reason", "multiline": True, "max_length": 500}
        view = _modal(
            DENY_VIEW,
            "Deny",
            "Deny",
            {"approval_id": action["value"], **_where(body)},
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "element": field,
                "label": {"type": "plain_text", "text": "Why? (optional)"},
            },
        )
        await _open(client, body, view)

    async def on_deny_submitted(self, ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        reason = _input(view, "reason") or None
        try:
            await self._runtime.decide(
                await self._who(context), meta["approval_id"], approve=False, reason=reason
            )
        except MisuseError as exc:
            await ack(response_action="errors", errors={"reason": explain(exc)})
            return
        await ack()

    async def on_option(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        question_id, _, index = str(action["value"]).rpartition(":")
        who = await self._who(context)
        try:
            # The options are on the card the clicker sees; the core decides whether they may answer.
            question = await self._runtime.store.decisions.question(who.tenant_id, question_id)
            if not 0 <= int(index) < len(question.options):
                raise InvalidInput("that option is not on offer any more")
            await self._runtime.answer(who, question_id, question.options[int(index)])
        except MisuseError as exc:
            await self._refuse(body, context, exc)

    async def on_free_text(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        field = {"type": "plain_text_input", "action_id": "answer", "multiline": True, "max_length": 2000}
        view = _modal(
            FREE_TEXT_VIEW,
            "Your answer",
            "Send",
            {"question_id": action["value"], **_where(body)},
            {
                "type": "input",
                "block_id": "answer",
                "element": field,
                "label": {"type": "plain_text", "text": "Your answer"},
            },
        )
        await _open(client, body, view)

    async def on_free_text_submitted(
        self, ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        try:
            await self._runtime.answer(await self._who(context), meta["question_id"], _input(view, "answer"))
        except MisuseError as exc:
            await ack(response_action="errors", errors={"answer": explain(exc)})
            return
        await ack()

    async def _who(self, context: AsyncBoltContext) -> Principal:
        tenant_id = await self._people.tenant(
            context.team_id, context.enterprise_id, bool(context.is_enterprise_install)
        )
        if not context.user_id:
            raise ValueError("an interaction without a user")
        return await self._people.principal(tenant_id, context.user_id)

    async def _refuse(self, body: dict[str, Any], context: AsyncBoltContext, exc: MisuseError) -> None:
        """An ephemeral note to the clicker, through the outbox like every other message."""
        who = await self._who(context)
        where = _where(body)
        action_ts = (body.get("actions") or [{}])[0].get("action_ts", "")
        log.info("Slack click refused: %s", exc.code, extra={"tenant": who.tenant_id, "surface": SURFACE})
        await self._outbox.put(
            tenant_id=who.tenant_id,
            surface=SURFACE,
            dedupe_key=f"slack:refused:{context.user_id}:{action_ts}",
            target={k: v for k, v in where.items() if v},
            payload={"op": "ephemeral", "user": context.user_id, "text": explain(exc)},
        )


def _where(body: dict[str, Any]) -> dict[str, str]:
    """The channel and thread a click came from."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    return {"channel": channel, "thread_ts": message.get("thread_ts") or container.get("thread_ts") or ""}


def _modal(
    callback_id: str, title: str, submit: str, meta: dict[str, Any], block: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [block],
    }


def _input(view: dict[str, Any], block_id: str) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(block_id) or {}).get(block_id) or {}).get("value") or "").strip()


async def _open(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """A modal must open within 3 s of the click (its trigger expires), so this one call goes
    straight to Slack instead of through the outbox."""
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not open a Slack modal: %s", exc)
