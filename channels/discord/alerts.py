"""Alerts in Discord: the notice renderer that draws alert cards, and what their buttons do.

Rendering (pure, like renderer.py): a notice becomes a message with one embed (the title, the
narration, the alert's fields) and a row of buttons whose custom ids carry the alert id, so a
click names its alert even after a restart, with no view kept in memory:

    sb:alert:<alert id>:ack | sb:alert:<alert id>:investigate | sb:alert:<alert id>:silence

A notice with `ref` edits the card in place (the sink finds the message the outbox remembers
under that key); the buttons still on offer replace the old ones, none once it is resolved. A
notice with `reply_to` is posted in the thread that starts on the card (a thread started from a
message has that message's id, so an investigation's run and the resolution meet there; the sink
opens it if nobody did yet). Threads do not nest and DMs have none, so a card posted inside a
thread or a DM is answered with a reply that references it. Should the card not be delivered
yet, the reply is posted after it in the card's channel rather than held back.

Clicks reach `DiscordAlerts.act` through `DiscordActions`, which acknowledges them at once and
tells a refused clicker why, ephemerally. The core's AlertDesk decides who may do what and
audits it; Investigate starts the alert's bot in the card's thread, as the person who clicked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord

from channels.discord.markup import neutralise, to_discord
from channels.discord.profile import SURFACE, address, thread_key, user_ref
from channels.story import alerts as story
from channels.text import clip
from core.alerts.desk import AlertDesk
from core.errors import InvalidInput
from core.notices import Notice, NoticeAction
from core.outbound import Outbound
from core.records import Principal

ALERT_PREFIX = "sb:alert:"
_CORE_REF = re.compile(r"<user:([A-Za-z0-9_\-]+)>")  # core.notices.user_ref
_STYLES = {"primary": 1, "danger": 4}
_SECONDARY = 2
_RED, _GREY = 0xED4245, 0x99AAB5
_TITLE_CHARS, _DESCRIPTION_CHARS, _CONTENT_CHARS = 256, 4096, 2000
_FIELD_NAME_CHARS, _FIELD_CHARS, _FIELDS, _BUTTONS_PER_ROW = 256, 1024, 25, 5

Json = dict[str, Any]


@dataclass(frozen=True)
class AlertClick:
    alert_id: str
    action: str  # a core.alerts.notices action id: alert_ack | alert_investigate | alert_silence


def custom_id(action: NoticeAction) -> str:
    """ "alert_ack" on alert alr_1 → "sb:alert:alr_1:ack"."""
    kind, _, verb = action.id.partition("_")
    return f"sb:{kind}:{action.value}:{verb}"


def parse_alert_click(value: str) -> AlertClick | None:
    """The alert click a button's custom id stands for; None for every other button."""
    if not value.startswith(ALERT_PREFIX):
        return None
    alert_id, _, verb = value[len(ALERT_PREFIX) :].rpartition(":")
    return AlertClick(alert_id, f"alert_{verb}") if alert_id and verb else None


class DiscordNoticeRenderer:
    def render(self, notice: Notice, replied: Mapping[str, Any] | None) -> list[Outbound]:
        message = _message(notice)
        if notice.ref is not None:
            return [Outbound(notice.key, {}, {"op": "edit", "ref": notice.ref, "message": message})]
        where = _where(notice.target)
        payload: Json = {"op": "post", "message": message}
        if notice.reply_to is not None:
            if replied is None:
                payload["after"] = notice.reply_to
            elif notice.target.get("channel") and not notice.target.get("thread"):
                where = address(thread_key(str(replied["channel"]), str(replied["id"])))
            else:
                where = {"channel": str(replied["channel"])}
                message["message_reference"] = {"message_id": str(replied["id"]), "fail_if_not_exists": False}
        return [Outbound(notice.key, where, payload)]


def _where(target: Mapping[str, Any]) -> Json:
    """A surface-neutral target → where the sink posts: a thread, a channel, or a DM it opens."""
    if target.get("thread"):
        return {"channel": str(target["thread"])}
    if target.get("channel"):
        return {"channel": str(target["channel"])}
    if target.get("user"):
        return {"user": str(target["user"])}
    raise InvalidInput("a Discord notice needs a channel or a user to go to")


def _message(notice: Notice) -> Json:
    """The whole message, buttons included, so an edit replaces what the card said and offered."""
    if not notice.title and not notice.fields and not notice.actions:
        return {"content": clip(_markdown(notice.text), _CONTENT_CHARS), "embeds": [], "components": []}
    embed: Json = {"color": _RED if notice.actions else _GREY}
    if notice.title:
        embed["title"] = clip(neutralise(notice.title), _TITLE_CHARS)
    if notice.text:
        embed["description"] = clip(_markdown(notice.text), _DESCRIPTION_CHARS)
    if notice.fields:
        embed["fields"] = [
            {
                "name": clip(neutralise(name), _FIELD_NAME_CHARS),
                "value": clip(_markdown(value), _FIELD_CHARS) or "-",
                "inline": True,
            }
            for name, value in notice.fields[:_FIELDS]
        ]
    buttons = [_button(a) for a in notice.actions]
    rows = [
        {"type": 1, "components": buttons[i : i + _BUTTONS_PER_ROW]}
        for i in range(0, len(buttons), _BUTTONS_PER_ROW)
    ]
    content = f"🚨 {neutralise(notice.title)}" if notice.actions else neutralise(notice.title)
    return {"content": clip(content, _CONTENT_CHARS), "embeds": [embed], "components": rows}


def _markdown(text: str) -> str:
    """Markdown made safe for Discord, with the core's person placeholders turned into ours
    (the sink names them `<@id>`; nothing pings, every message allows no mentions)."""
    return _CORE_REF.sub(lambda m: user_ref(m.group(1)), to_discord(text))


def _button(action: NoticeAction) -> Json:
    return {
        "type": 2,
        "style": _STYLES.get(action.style or "", _SECONDARY),
        "label": action.label[:80],
        "custom_id": custom_id(action),
    }


class DiscordAlerts:
    """What a click on an alert card asks of the core's alert desk."""

    def __init__(self, desk: AlertDesk) -> None:
        self._desk = desk  # over alerts drawn by DiscordNoticeRenderer (the composition root's)

    async def act(self, who: Principal, click: AlertClick, interaction: discord.Interaction) -> None:
        """Raises the desk's MisuseError when the clicker may not (the caller tells them why)."""
        told = await story.act(
            self._desk,
            who,
            click.action,
            click.alert_id,
            surface=SURFACE,
            thread_key=lambda: card_thread(interaction),
        )
        if told is None:
            raise InvalidInput("that button is not one I know")


def card_thread(interaction: discord.Interaction) -> str:
    """The session key of the clicked card's conversation: the thread that starts on the card, the
    thread the card is in, or the DM (the keys the ingress gives messages in those places)."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread):
        return thread_key(str(channel.parent_id), str(channel.id))
    if interaction.guild_id is None or interaction.message is None:
        return thread_key(str(interaction.channel_id))
    return thread_key(str(interaction.channel_id), str(interaction.message.id))
