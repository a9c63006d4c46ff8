"""Proactive posts: a message to a Teams conversation nobody just wrote in (a scheduled report,
a reminder). The conversation must have been stored, i.e. someone talked to the bot there once.

Two ways in, both through the outbox (so an outage delays the post, never loses it):
- a run: submit with `surface="teams"` and `thread_key=` the stored conversation key; the Teams
  renderer posts its progress and answer there like any other run's;
- `post_to_conversation`: plain text, no run, e.g. a notice; split to fit and sent in order.
"""

from __future__ import annotations

from channels.teams.profile import SURFACE, TeamsProfile
from channels.teams.renderer import split_answer
from core.store.outbox import OutboxStore


async def post_to_conversation(
    outbox: OutboxStore,
    *,
    tenant_id: str,
    conversation_key: str,
    markdown: str,
    dedupe_key: str,
    profile: TeamsProfile | None = None,
) -> bool:
    """Queue `markdown` for the stored conversation, once per `dedupe_key` (a scheduler's fire
    id, say). False when that key was queued before."""
    parts = split_answer(markdown, (profile or TeamsProfile()).message_chars)
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
