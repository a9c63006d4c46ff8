"""Reading a signed Slack payload without trusting its shape.

`parse` turns the raw body into the JSON object Bolt will see, the way Bolt itself reads it
(JSON, or a form whose `payload` field holds JSON), and `check_envelope` makes sure the fields
Bolt's router and our handlers read from the envelope have the types Slack sends: Bolt indexes
into them unguarded, so a list where a dict belongs would be a 500 with a traceback. An identifier
is printable ASCII of bounded length (Slack's ids and timestamps always are); anything else,
NUL and lone surrogates included, never reaches the store as a key.

The accessors (`ident`, `text`, `obj`) are what the handlers use on the fields inside an event or
an action, whose oddities are ignored (the event is acknowledged) rather than refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from core.errors import InvalidInput, MisuseError

_MAX_ID = 255

# Envelope fields, and the JSON types Slack sends in them (None: absent).
_FIELDS: dict[str, tuple[type, ...]] = {
    "type": (str,),
    "event": (dict,),
    "authorizations": (list,),
    "actions": (list,),
    "view": (dict,),
    "user": (dict, str),
    "team": (dict, str),
    "enterprise": (dict, str),
    "channel": (dict, str),
    "container": (dict,),
    "message": (dict,),
    "state": (dict,),
}
_IDS = ("event_id", "team_id", "enterprise_id", "api_app_id", "trigger_id", "user_id")
_NESTED_IDS = ("id", "team_id", "enterprise_id", "user_id", "channel_id")


def malformed(detail: str) -> MisuseError:
    return MisuseError(f"the request body is not a Slack payload: {detail}", code="malformed_json")


def parse(raw: bytes, content_type: str | None) -> tuple[str, dict[str, Any]]:
    """The body as text (Bolt wants it so) and as the object it holds."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("not UTF-8") from None
    try:
        # Bolt's rule: JSON when declared or when it looks like it; otherwise a form.
        if (content_type or "").split(";")[0].strip() == "application/json" or text.startswith("{"):
            found: Any = json.loads(text) if text else {}
        else:
            found = _form(text)
    except json.JSONDecodeError as exc:
        raise malformed(f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise malformed("nested too deeply") from None
    if not isinstance(found, dict):
        raise InvalidInput("a Slack payload is a JSON object")
    return text, found


def _form(text: str) -> Any:
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text and "payload" not in fields:
        return {}  # as Bolt reads it
    if "payload" in fields:
        return json.loads(fields["payload"])
    return fields


def check_envelope(body: Mapping[str, Any]) -> None:
    """Raises InvalidInput when a field Bolt routes on has a type Slack never sends."""
    for name, types in _FIELDS.items():
        value = body.get(name)
        if value is not None and not isinstance(value, types):
            raise InvalidInput(f"{name}: unexpected type {type(value).__name__}")
    _check_ids(body, "", _IDS)
    for name in ("team", "enterprise", "user", "channel", "container", "view"):
        if isinstance(body.get(name), dict):
            _check_ids(body[name], f"{name}.", _NESTED_IDS)
    for name in ("authorizations", "actions"):
        for item in body.get(name) or []:
            if not isinstance(item, dict):
                raise InvalidInput(f"{name}: an item is not an object")
            _check_ids(item, f"{name}[].", _NESTED_IDS)
    event = body.get("event")
    if event is not None and event.get("type") is not None and not isinstance(event["type"], str):
        raise InvalidInput("event.type: unexpected type")


def _check_ids(found: Mapping[str, Any], where: str, names: tuple[str, ...]) -> None:
    for name in names:
        value = found.get(name)
        if value is not None and ident(found, name) is None:
            raise InvalidInput(f"{where}{name}: not a Slack id")


def ident(found: Any, name: str) -> str | None:
    """`found[name]` when it is a plausible Slack id or timestamp, else None."""
    value = found.get(name) if isinstance(found, Mapping) else None
    if isinstance(value, str) and 0 < len(value) <= _MAX_ID and value.isascii() and value.isprintable():
        return value
    return None


def text(found: Any, name: str) -> str:
    """`found[name]` when it is a string, else "" (a message without text is not for us)."""
    value = found.get(name) if isinstance(found, Mapping) else None
    return value if isinstance(value, str) else ""


def obj(found: Any, name: str) -> dict[str, Any]:
    value = found.get(name) if isinstance(found, Mapping) else None
    return value if isinstance(value, dict) else {}


def action_time(body: Mapping[str, Any]) -> str:
    """The clicked action's `action_ts`, which names the click (a refusal's dedupe key)."""
    actions = body.get("actions")
    return (ident(actions[0], "action_ts") if isinstance(actions, list) and actions else None) or ""
