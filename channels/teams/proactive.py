"""Proactive posts: a message to a Teams conversation nobody just wrote in (a scheduled report,
a reminder). The conversation must have been stored, i.e. someone talked to the bot there once.

Two ways in, both through the outbox (so an outage delays the post, never loses it):
- a run: submit with `surface="teams"` and `thread_key=` the stored conversation key; the Teams
  renderer posts its progress and answer there like any other run's;
- `post_to_conversation`: plain text, no run, e.g. a notice; split to fit and sent in order.

A schedule's target is `{"surface": "teams", "conversation": <stored conversation key>}`; its runs
get `proactive_key` session keys, so each fire starts a new post there. When that conversation is
gone, `channels.gone_targets.GoneTargets` disables the schedule (audited). Its owner is not told
on Teams: a bot can only message someone in a conversation it stored, and none is kept per person.
"""

from __future__ import annotations

from typing import Any

from channels.teams.markdown import split_markdown
from channels.teams.profile import SURFACE, TARGET_KEY_CHARS, TeamsProfile
from core.errors import InvalidInput, NotFound
from core.ports import Conversations, Outbox


async def post_to_conversation(
    outbox: Outbox,
    *,
    tenant_id: str,
    conversation_key: str,
    markdown: str,
    dedupe_key: str,
    profile: TeamsProfile | None = None,
) -> bool:
    """Queue `markdown` for the stored conversation, once per `dedupe_key` (a scheduler's fire
    id, say). False when that key was queued before."""
    parts = split_markdown(markdown, (profile or TeamsProfile()).message_chars)
    if not parts:
        raise ValueError("nothing to post")
    queued = False
    for i, part in enumerate(parts):
        payload = {"op": "post", "text": part}
        if i:
            payload["after"] = f"{dedupe_key}:{i - 1}" if i > 1 else dedupe_key
        key = dedupe_key if i == 0 else f"{dedupe_key}:{i}"
        queued = (
            await outbox.put(
                tenant_id=tenant_id,
                surface=SURFACE,
                dedupe_key=key,
                target={"conversation": conversation_key},
                payload=payload,
            )
            or queued
        )
    return queued


async def check_target(conversations: Conversations, tenant_id: str, target: dict[str, Any]) -> None:
    """A schedule's Teams target names a conversation this tenant's bot has stored."""
    key = target.get("conversation")
    if not key:
        raise InvalidInput(
            'a Teams target is {"surface": "teams", "conversation": <conversation key>}: the key of '
            "a conversation someone had with the bot (a run's thread key on Teams)"
        )
    if len(key) > TARGET_KEY_CHARS:
        raise InvalidInput(f"a Teams conversation key has at most {TARGET_KEY_CHARS} characters")
    if await conversations.get(tenant_id, key) is None:  # an unknown item, as an unknown id is
        raise NotFound(
            f"no Teams conversation {key!r} is stored for this tenant: the bot can only post where "
            "someone has talked to it"
        )
