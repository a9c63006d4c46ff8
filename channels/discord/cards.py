"""Approval and question cards: an embed that says what is asked and who may decide, and buttons
whose custom ids carry only the item's id and the choice, so a click names what it decides (even
after a restart, with no view kept in memory) and the core checks who may decide it.

    sb:appr:<approval id>:approve | sb:appr:<approval id>:deny
    sb:q:<question id>:<option index>

Everything that came from a model (arguments, prompts, options) is neutralised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.discord.markup import neutralise, to_discord
from channels.discord.profile import user_ref
from channels.text import argument_text, clip

APPROVAL_PREFIX = "sb:appr:"
QUESTION_PREFIX = "sb:q:"
_BLURPLE, _GREEN, _RED, _GREY = 0x5865F2, 0x57F287, 0xED4245, 0x99AAB5
_PRIMARY, _SECONDARY, _SUCCESS, _DANGER = 1, 2, 3, 4
_LABEL_CHARS = 80
_BUTTONS_PER_ROW = 5
_ROWS = 5
_FIELDS = 25
_FIELD_CHARS = 1024
_DESCRIPTION_CHARS = 4096

Json = dict[str, Any]


@dataclass(frozen=True)
class Click:
    kind: str  # "approval" | "question"
    item_id: str
    choice: str  # "approve" | "deny" | an option's index


def parse_custom_id(custom_id: str) -> Click | None:
    """The click a button's custom id stands for; None for buttons that are not ours."""
    for prefix, kind in ((APPROVAL_PREFIX, "approval"), (QUESTION_PREFIX, "question")):
        if custom_id.startswith(prefix):
            item_id, _, choice = custom_id[len(prefix) :].rpartition(":")
            if item_id and choice:
                return Click(kind, item_id, choice)
    return None


def timestamp(ts: float) -> str:
    """A date Discord shows in each reader's own time zone."""
    return f"<t:{int(ts)}:f>"


def approval_card(payload: Json, arg_chars: int) -> Json:
    tool = neutralise(str(payload.get("tool", "")))
    tier = str(payload.get("tier", "user"))
    who = (
        "Only an admin can decide."
        if tier == "admin"
        else f"Only {user_ref(payload.get('requester'))} can decide."
    )
    expires = payload.get("expires_at")
    until = f" Expires {timestamp(float(expires))}." if isinstance(expires, int | float) else ""
    approval_id = str(payload["approval_id"])
    embed = {
        "title": "Approval needed",
        "description": f"The assistant wants to run **{tool}** with:",
        "color": _BLURPLE,
        "fields": _arguments(payload.get("args"), arg_chars)
        + [{"name": "Who decides", "value": f"Tier: **{neutralise(tier)}** · {who}{until}"}],
    }
    buttons = [
        _button("Approve", f"{APPROVAL_PREFIX}{approval_id}:approve", _SUCCESS),
        _button("Deny", f"{APPROVAL_PREFIX}{approval_id}:deny", _DANGER),
    ]
    return {"content": f"Approval needed: {tool}", "embeds": [embed], "components": [_row(buttons)]}


def approval_outcome(payload: Json, at: float) -> Json:
    """The embed added to the card (whose buttons the sink removes) once the decision is made."""
    decision = str(payload.get("decision", ""))
    if decision == "expired":
        return {"description": f"⌛ Expired {timestamp(at)}: nobody decided in time.", "color": _GREY}
    icon, color = ("✅", _GREEN) if decision == "approved" else ("🚫", _RED)
    line = f"{icon} {neutralise(decision.capitalize())} by {user_ref(payload.get('by'))} at {timestamp(at)}"
    reason = payload.get("reason")
    if reason:
        line += f"\nReason: {neutralise(str(reason))[:500]}"
    return {"description": line, "color": color}


def question_card(payload: Json) -> Json:
    question_id = str(payload["question_id"])
    options = [str(o) for o in payload.get("options") or []]
    room = _BUTTONS_PER_ROW * _ROWS
    buttons = [
        _button(_label(o), f"{QUESTION_PREFIX}{question_id}:{i}", _PRIMARY) for i, o in enumerate(options)
    ]
    listed = "\n".join(f"{i + 1}. {neutralise(o)}" for i, o in enumerate(options))
    long_options = any(len(o) > _LABEL_CHARS for o in options) or len(options) > room
    footer = f"Only {user_ref(payload.get('asked_of'))} can answer."
    embed = {
        "title": "Question",
        "description": clip(
            to_discord(str(payload.get("prompt", ""))) + (f"\n\n{listed}" if long_options else ""),
            _DESCRIPTION_CHARS,
        ),
        "color": _BLURPLE,
        "fields": [{"name": "Who answers", "value": footer}],
    }
    rows = [
        _row(buttons[i : i + _BUTTONS_PER_ROW]) for i in range(0, min(len(buttons), room), _BUTTONS_PER_ROW)
    ]
    return {
        "content": clip(f"Question: {neutralise(str(payload.get('prompt') or ''))}", 150),
        "embeds": [embed],
        "components": rows,
    }


def question_outcome(payload: Json, at: float, *, expired: bool = False) -> Json:
    if expired:
        return {"description": f"⌛ Expired {timestamp(at)}: nobody answered in time.", "color": _GREY}
    answer = neutralise(str(payload.get("answer", "")))[:1000]
    return {
        "description": f"💬 {user_ref(payload.get('by'))} answered **{answer}** at {timestamp(at)}",
        "color": _GREEN,
    }


def _arguments(args: Any, arg_chars: int) -> list[Json]:
    if not isinstance(args, dict) or not args:
        return [{"name": "Arguments", "value": "*(none)*"}]
    fields = [
        {
            "name": clip(neutralise(str(k)), 256),
            "value": _value(v, min(arg_chars, _FIELD_CHARS)),
            "inline": True,
        }
        for k, v in args.items()
    ]
    return fields[: _FIELDS - 1]


def _value(value: Any, limit: int) -> str:
    text = argument_text(value)
    return clip(neutralise(text), limit) if text else "*(empty)*"


def _label(option: str) -> str:
    return clip(option, _LABEL_CHARS)


def _button(label: str, custom_id: str, style: int) -> Json:
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}


def _row(buttons: list[Json]) -> Json:
    return {"type": 1, "components": buttons}
