"""Alerts in Slack: the notice renderer that draws alert cards, and the buttons on them.

Rendering (pure, like renderer.py): a notice becomes a Block Kit message — a header, the
narration, the alert's fields and its buttons. A notice with `ref` edits the card in place
(chat.update of the message the outbox remembers under that key); one with `reply_to` posts in
the card's thread, using the ts the card's delivery recorded. Should the card not be delivered
yet, the reply is posted after it at the top level rather than held back.

Clicks: Acknowledge, Investigate and Silence 1 h carry the alert id in their action id
(`sb_alert_ack:<alert id>`) and value. The core's AlertDesk decides who may do what and audits
it; a refused click gets an ephemeral note, through the outbox like every message. Investigate
starts the alert's bot in the card's thread, as the person who clicked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from channels import refusals
from channels.slack import blocks
from channels.slack.identity import SlackDirectory
from channels.slack.mrkdwn import escape, to_mrkdwn
from channels.slack.payload import action_time, ident, obj
from channels.slack.profile import SURFACE, thread_key, user_ref
from channels.story import alerts as story
from core.alerts.desk import AlertDesk
from core.errors import IllegalTransition, MisuseError
from core.notices import Notice, NoticeAction
from core.outbound import Outbound
from core.ports import Outbox

log = logging.getLogger(__name__)

ACTION = re.compile(r"^sb_(alert_ack|alert_investigate|alert_silence):")
_ESCAPED_REF = re.compile(r"&lt;user:([A-Za-z0-9_\-]+)&gt;")  # core.notices.user_ref, escaped
_FIELDS = 10


def action_id(action: NoticeAction) -> str:
    return f"sb_{action.id}:{action.value}"


class SlackNoticeRenderer:
    def render(self, notice: Notice, replied: Mapping[str, Any] | None) -> list[Outbound]:
        text = _mrkdwn(notice.text) or escape(notice.title)
        card = _blocks(notice)
        if notice.ref is not None:
            return [
                Outbound(notice.key, {}, {"op": "update", "ref": notice.ref, "text": text, "blocks": card})
            ]
        where: dict[str, Any] = {"channel": notice.target["channel"]}
        if notice.target.get("thread"):
            where["thread_ts"] = notice.target["thread"]
        payload: dict[str, Any] = {"op": "post", "text": text, "blocks": card}
        if notice.reply_to is not None:
            if replied is not None:
                where = {"channel": replied["channel"], "thread_ts": replied["ts"]}
            else:
                payload["after"] = notice.reply_to
        return [Outbound(notice.key, where, payload)]


def _mrkdwn(text: str) -> str:
    """Markdown → mrkdwn, with the core's person placeholders turned into Slack's."""
    return _ESCAPED_REF.sub(lambda m: user_ref(m.group(1)), to_mrkdwn(text))


def _blocks(notice: Notice) -> list[blocks.Block]:
    out: list[blocks.Block] = []
    if notice.title:
        out.append({"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}})
    if notice.text:
        out.append(blocks.section(_mrkdwn(notice.text)))
    fields = [{"type": "mrkdwn", "text": f"*{escape(k)}*\n{_mrkdwn(v)}"} for k, v in notice.fields]
    out.extend({"type": "section", "fields": fields[i : i + _FIELDS]} for i in range(0, len(fields), _FIELDS))
    if notice.actions:
        buttons = [_button(a) for a in notice.actions]
        out.append(
            {"type": "actions", "block_id": f"notice:{notice.group or notice.key}", "elements": buttons}
        )
    return out


def _button(action: NoticeAction) -> blocks.Block:
    button: blocks.Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": action.label, "emoji": True},
        "action_id": action_id(action),
        "value": action.value,
    }
    if action.style:
        button["style"] = action.style
    return button


class SlackAlerts:
    """The alert buttons' Bolt handlers."""

    def __init__(self, desk: AlertDesk, people: SlackDirectory, outbox: Outbox) -> None:
        self._desk = desk  # over alerts drawn by SlackNoticeRenderer (the composition root's)
        self._people = people
        self._outbox = outbox

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION)(self.on_click)

    async def on_click(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        match = ACTION.match(ident(action, "action_id") or "")
        user, alert_id = ident(context, "user_id"), ident(action, "value")
        if match is None or user is None or alert_id is None:
            return
        tenant_id = await self._people.tenant(
            context.team_id, context.enterprise_id, bool(context.is_enterprise_install)
        )
        who = await self._people.principal(tenant_id, user)
        try:
            await story.act(
                self._desk,
                who,
                match.group(1),
                alert_id,
                surface=SURFACE,
                thread_key=lambda: thread_key(*_card_thread(body)),
            )
        except MisuseError as exc:
            await self._refuse(tenant_id, body, user, exc)

    async def _refuse(self, tenant_id: str, body: dict[str, Any], user: str, exc: MisuseError) -> None:
        channel, root = _card_thread(body)
        action_ts = action_time(body)
        note = story.MOVED_ON if isinstance(exc, IllegalTransition) else refusals.explain(exc, escape)
        log.info("alert click refused: %s", exc.code, extra={"tenant": tenant_id, "surface": SURFACE})
        await self._outbox.put(
            tenant_id=tenant_id,
            surface=SURFACE,
            dedupe_key=f"slack:refused:{user}:{action_ts}",
            target={"channel": channel, "thread_ts": root},
            payload={"op": "ephemeral", "user": user, "text": note},
        )


def _card_thread(body: dict[str, Any]) -> tuple[str, str]:
    """The channel of the clicked card and the root of its thread (the card itself, usually)."""
    container, message = obj(body, "container"), obj(body, "message")
    channel = ident(container, "channel_id") or ident(obj(body, "channel"), "id") or ""
    root = (
        ident(message, "thread_ts")
        or ident(container, "thread_ts")
        or ident(container, "message_ts")
        or ident(message, "ts")
    )
    return channel, root or ""
