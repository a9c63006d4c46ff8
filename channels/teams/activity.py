"""The Bot Framework seam: incoming activity JSON → our `Inbound`, and the activities we send.

This is the one module (with `auth.py`) that knows the Bot Framework SDK (`botbuilder-core`,
`botbuilder-schema`); everything else in `channels/teams` works on plain data. Moving to the
Microsoft 365 Agents SDK means rewriting this module against its activity types.

Two SDK helpers are deliberately not used: `TurnContext.remove_recipient_mention` treats the
bot's display name as a regular expression and removes it everywhere in the text, and the
schema reads a conversation's tenant from "tenantID" where Teams sends "tenantId".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from msrest.exceptions import DeserializationError

from channels.teams.profile import conversation_key
from core.records import ConversationReference as Conversation

CARD_ACTION = "adaptiveCard/action"


class BadActivity(ValueError):
    """An activity we cannot act on: malformed, or missing what every Teams activity has."""


@dataclass(frozen=True)
class Inbound:
    id: str
    type: str  # message | invoke | conversationUpdate | …
    name: str | None  # an invoke's name
    channel_id: str  # "msteams" (the endorsement its signing key must carry)
    service_url: str
    conversation_type: str  # personal | groupChat | channel
    aad_tenant_id: str | None
    user_key: str | None  # the sender's Azure AD object id (their Teams id if Teams gives none)
    user_name: str
    from_us: bool  # sent by this bot
    text: str  # the bot's own mention removed
    mentions_us: bool
    value: dict[str, Any]
    conversation: Conversation

    @property
    def event_id(self) -> str:
        """Activity ids are unique within a conversation only: the dedupe key names both."""
        digest = hashlib.sha256(f"{self.conversation.conversation_id}\n{self.id}".encode()).hexdigest()
        return f"teams:{digest}"


def parse_activity(body: Any) -> Inbound:
    if not isinstance(body, dict):
        raise BadActivity("an activity is a JSON object")
    try:
        activity = Activity().deserialize(body)
    except DeserializationError as exc:
        raise BadActivity(f"not a Bot Framework activity: {exc}") from exc
    for name in ("type", "service_url", "channel_id", "conversation", "recipient", "from_property"):
        if not getattr(activity, name, None):
            raise BadActivity(f"the activity has no {name}")
    sender, bot = activity.from_property, activity.recipient
    conversation_type = activity.conversation.conversation_type or "personal"
    text, mentioned = _without_our_mention(activity)
    return Inbound(
        id=str(activity.id or ""),
        type=str(activity.type),
        name=activity.name,
        channel_id=str(activity.channel_id),
        service_url=str(activity.service_url),
        conversation_type=conversation_type,
        aad_tenant_id=_tenant(body),
        user_key=sender.aad_object_id or sender.id,
        user_name=sender.name or "",
        from_us=bool(sender.id and sender.id == bot.id),
        text=text,
        mentions_us=mentioned,
        value=activity.value if isinstance(activity.value, dict) else {},
        conversation=_conversation(activity, body, conversation_type),
    )


def _tenant(body: dict[str, Any]) -> str | None:
    tenant = ((body.get("channelData") or {}).get("tenant") or {}).get("id")
    return str(tenant or (body.get("conversation") or {}).get("tenantId") or "") or None


def _without_our_mention(activity: Activity) -> tuple[str, bool]:
    text = activity.text or ""
    mentioned = False
    for mention in TurnContext.get_mentions(activity):
        props = mention.additional_properties or {}
        if (props.get("mentioned") or {}).get("id") != activity.recipient.id:
            continue
        mentioned = True
        if props.get("text"):
            text = text.replace(str(props["text"]), " ")
    return text.replace("&nbsp;", " ").strip(), mentioned


def _conversation(activity: Activity, body: dict[str, Any], conversation_type: str) -> Conversation:
    """A channel thread is named by its root message (Teams puts it in the conversation id)."""
    conversation_id = str(activity.conversation.id)
    root = None
    if conversation_type == "channel":
        _, _, in_id = conversation_id.partition(";messageid=")
        root = in_id or activity.reply_to_id or activity.id
        conversation_id = f"{conversation_id.split(';messageid=', 1)[0]};messageid={root}"
    reference = TurnContext.get_conversation_reference(activity).serialize()
    reference["conversation"]["id"] = conversation_id
    tenant = _tenant(body)
    if tenant:
        reference["conversation"]["tenantId"] = tenant
    reference.pop("activityId", None)  # a reference names the conversation, not one message in it
    return Conversation(
        key=conversation_key(conversation_id, root),
        conversation_id=conversation_id,
        service_url=str(activity.service_url),
        reply_to_id=root,
        reference=reference,
    )


# --- what we send ------------------------------------------------------------------------------


def message(conversation: Conversation, text: str) -> dict[str, Any]:
    activity = MessageFactory.text(text)
    activity.text_format = "markdown"
    return _addressed(conversation, activity)


def card_message(conversation: Conversation, card: dict[str, Any], summary: str) -> dict[str, Any]:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.summary = summary
    return _addressed(conversation, activity)


def typing(conversation: Conversation) -> dict[str, Any]:
    return _addressed(conversation, Activity(type=ActivityTypes.typing))


def _addressed(conversation: Conversation, activity: Activity) -> dict[str, Any]:
    reference = ConversationReference().deserialize(conversation.reference)
    TurnContext.apply_conversation_reference(activity, reference)
    body: dict[str, Any] = activity.serialize()
    body["conversation"]["id"] = conversation.conversation_id
    body.pop("replyToId", None)  # the URL says where a reply goes
    return body


def card_response(message_text: str) -> dict[str, Any]:
    """An `adaptiveCard/action` invoke's answer: a message only the clicker sees."""
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": message_text}
