"""Alerts in Teams: the notice renderer that draws alert cards, and what their buttons do.

Rendering (pure, like renderer.py): a notice becomes an Adaptive Card (a heading, the narration,
the alert's fields as facts) with `Action.Execute` buttons whose verb names the action and whose
data carries the alert id, so a click names its alert even after a restart. It is posted to the
stored conversation the target names (`{"surface": "teams", "conversation": <key>}`); in a
channel, that is a reply in the thread it was stored from. A notice with `ref` replaces the card whole
(`update` with `card`): the buttons still on offer change as people act, which a decided card's
`outcome` cannot say. One with `reply_to` is a message in the same conversation, after the card.

Clicks reach `TeamsAlerts.act` through `TeamsActions` as `adaptiveCard/action` invokes; the
invoke's response tells the clicker alone what happened, or why not. The core's AlertDesk decides
who may do what and audits it; Investigate starts the alert's bot in the card's conversation, as
the person who clicked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from channels.story import alerts as story
from channels.teams import cards
from channels.teams.markdown import escape, to_teams
from channels.teams.profile import SURFACE, user_ref
from core.alerts.desk import AlertDesk
from core.errors import InvalidInput
from core.notices import Notice, NoticeAction
from core.outbound import Outbound
from core.records import Principal

VERB_PREFIX = "sb_alert_"
_ESCAPED_REF = re.compile(r"&lt;user:([A-Za-z0-9_\-]+)&gt;")  # core.notices.user_ref, escaped
_STYLES = {"primary": "positive", "danger": "destructive"}
_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"

Json = dict[str, Any]


def verb(action: NoticeAction) -> str:
    """ "alert_ack" → "sb_alert_ack"."""
    return f"sb_{action.id}"


class TeamsNoticeRenderer:
    def render(self, notice: Notice, replied: Mapping[str, Any] | None) -> list[Outbound]:
        payload: Json = {"op": "post"} if notice.ref is None else {"op": "update", "ref": notice.ref}
        if notice.title or notice.fields or notice.actions:
            payload |= {"text": escape(notice.title), "card": _card(notice)}  # text: the summary
        else:
            payload["text"] = _markdown(notice.text)
        if notice.reply_to is not None and replied is None:
            payload["after"] = notice.reply_to  # in the same conversation, once the card is there
        return [Outbound(notice.key, {"conversation": _conversation(notice.target)}, payload)]


def _conversation(target: Mapping[str, Any]) -> str:
    key = target.get("conversation")
    if not key:
        raise InvalidInput(
            'a Teams notice goes to a stored conversation: {"surface": "teams", "conversation": …}'
        )
    return str(key)


def _card(notice: Notice) -> cards.Card:
    body: list[cards.Element] = []
    if notice.title:
        body.append(
            {
                "type": "TextBlock",
                "text": escape(notice.title),
                "size": "Medium",
                "weight": "Bolder",
                "wrap": True,
            }
        )
    if notice.text:
        body.append(cards.text(_markdown(notice.text)))
    if notice.fields:
        facts = [{"title": escape(name), "value": _markdown(value)} for name, value in notice.fields]
        body.append({"type": "FactSet", "facts": facts})
    card: cards.Card = {"type": "AdaptiveCard", "$schema": _SCHEMA, "version": "1.4", "body": body}
    if notice.actions:
        card["actions"] = [_execute(a) for a in notice.actions]
    return card


def _execute(action: NoticeAction) -> cards.Element:
    button: cards.Element = {
        "type": "Action.Execute",
        "title": action.label,
        "verb": verb(action),
        "data": {"value": action.value},
    }
    if action.style in _STYLES:
        button["style"] = _STYLES[action.style]
    return button


def _markdown(text: str) -> str:
    """Markdown → Teams Markdown, with the core's person placeholders turned into ours (the sink
    writes the person's name in their place)."""
    return _ESCAPED_REF.sub(lambda m: user_ref(m.group(1)), to_teams(text))


class TeamsAlerts:
    """What a click on an alert card asks of the core's alert desk."""

    def __init__(self, desk: AlertDesk) -> None:
        self._desk = desk  # over alerts drawn by TeamsNoticeRenderer (the composition root's)

    @staticmethod
    def handles(action_verb: str) -> bool:
        return action_verb.startswith(VERB_PREFIX)

    async def act(self, who: Principal, action_verb: str, data: Json, conversation_key: str) -> str:
        """What the clicker is told. Raises the desk's MisuseError when they may not."""
        alert_id = str(data.get("value") or "")
        action = action_verb.removeprefix("sb_")
        told = await story.act(
            self._desk, who, action, alert_id, surface=SURFACE, thread_key=lambda: conversation_key
        )
        if told is None:
            raise InvalidInput("This button does nothing any more.")
        return told
