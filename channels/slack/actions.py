"""Button clicks and modals → decisions. The core decides who may decide; a refused click gets an
ephemeral explanation (only the clicker sees it) and changes nothing. Once a decision is
recorded, the renderer edits the card: the click handler itself never posts the outcome.

Approve decides at once. Deny opens a small modal for an optional reason. Option buttons answer
a question; "Answer in my own words…" opens a modal with a text field. A click or a form whose
fields are not what we put on the card (no id in its value, no user) is acknowledged and ignored.
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
from channels.slack.payload import action_time, ident, obj
from channels.slack.profile import SURFACE
from core.errors import MisuseError
from core.ports import Outbox
from core.records import Principal
from core.runtime import Runtime

log = logging.getLogger(__name__)

DENY_VIEW = "sb_deny_reason"
FREE_TEXT_VIEW = "sb_free_text"
_OPTION = re.compile(r"^(.+):(\d{1,4})$")  # a question id and an option's index


def explain(exc: MisuseError) -> str:
    """What to tell the person whose click was refused, in mrkdwn."""
    return refusals.explain(exc, escape)


class SlackActions:
    def __init__(self, runtime: Runtime, people: SlackDirectory, outbox: Outbox) -> None:
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
        who, approval_id = await self._who(context), ident(action, "value")
        if who is None or approval_id is None:
            return
        try:
            await self._runtime.decide(who, approval_id, approve=True)
        except MisuseError as exc:
            await self._refuse(body, context, exc)

    async def on_deny(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        approval_id = ident(action, "value")
        if approval_id is None:
            return
        field = {"type": "plain_text_input", "action_id": "reason", "multiline": True, "max_length": 500}
        view = _modal(
            DENY_VIEW,
            "Deny",
            "Deny",
            {"approval_id": approval_id, **_where(body)},
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
        who, approval_id = await self._who(context), ident(_metadata(view), "approval_id")
        if who is None or approval_id is None:
            await ack()
            return
        reason = _input(view, "reason") or None
        try:
            await self._runtime.decide(who, approval_id, approve=False, reason=reason)
        except MisuseError as exc:
            await ack(response_action="errors", errors={"reason": explain(exc)})
            return
        await ack()

    async def on_option(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        option = _OPTION.match(ident(action, "value") or "")
        who = await self._who(context)
        if option is None or who is None:
            return
        question_id, index = option.group(1), option.group(2)
        try:
            # The options are on the card the clicker sees; the core decides whether they may answer.
            await self._runtime.answer_option(who, question_id, int(index))
        except MisuseError as exc:
            await self._refuse(body, context, exc)

    async def on_free_text(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        question_id = ident(action, "value")
        if question_id is None:
            return
        field = {"type": "plain_text_input", "action_id": "answer", "multiline": True, "max_length": 2000}
        view = _modal(
            FREE_TEXT_VIEW,
            "Your answer",
            "Send",
            {"question_id": question_id, **_where(body)},
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
        who, question_id = await self._who(context), ident(_metadata(view), "question_id")
        if who is None or question_id is None:
            await ack()
            return
        try:
            await self._runtime.answer(who, question_id, _input(view, "answer"))
        except MisuseError as exc:
            await ack(response_action="errors", errors={"answer": explain(exc)})
            return
        await ack()

    async def _who(self, context: AsyncBoltContext) -> Principal | None:
        """The clicker, or None for an interaction that names no user."""
        user = ident(context, "user_id")
        if user is None:
            return None
        tenant_id = await self._people.tenant(
            context.team_id, context.enterprise_id, bool(context.is_enterprise_install)
        )
        return await self._people.principal(tenant_id, user)

    async def _refuse(self, body: dict[str, Any], context: AsyncBoltContext, exc: MisuseError) -> None:
        """An ephemeral note to the clicker, through the outbox like every other message."""
        who = await self._who(context)
        if who is None:
            return
        where = _where(body)
        action_ts = action_time(body)
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
    container, message = obj(body, "container"), obj(body, "message")
    channel = ident(container, "channel_id") or ident(obj(body, "channel"), "id") or ""
    return {
        "channel": channel,
        "thread_ts": ident(message, "thread_ts") or ident(container, "thread_ts") or "",
    }


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """What `_modal` put in the view; {} when it is not ours."""
    raw = view.get("private_metadata")
    try:
        found = json.loads(raw) if isinstance(raw, str) and raw else {}
    except (json.JSONDecodeError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


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
    value = obj(obj(obj(obj(view, "state"), "values"), block_id), block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


async def _open(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """A modal must open within 3 s of the click (its trigger expires), so this one call goes
    straight to Slack instead of through the outbox."""
    trigger_id = ident(body, "trigger_id")
    if trigger_id is None:
        return
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not open a Slack modal: %s", exc)
