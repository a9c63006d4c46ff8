"""Slack's own "is thinking…" line in assistant threads, beside our status message.

In a direct message with an app that has Slack's AI assistant feature, `assistant.threads.setStatus`
shows a status under the thread ("Switchboard is looking up order…"), and Slack clears it when
the app replies. Elsewhere (channels, apps without the feature or the `assistant:write` scope)
Slack refuses the call. The status message we post and edit stays the source of truth, so this is
decoration: a refusal switches it off (for the workspace, or for the channel), a failure is
ignored, and nothing here ever delays or fails a delivery.
"""

from __future__ import annotations

import logging
import re

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

METHOD = "assistant.threads.setStatus"
# The app cannot use the method at all: stop trying for the life of the process.
_UNAVAILABLE = frozenset({"missing_scope", "not_allowed_token_type", "unknown_method", "feature_not_enabled"})
_EMOJI = re.compile(r"^(:[a-z0-9_+\-]+:\s*)+")


def assistant_status(status_text: str) -> str:
    """ ":mag: Looking up order…" → "is looking up order…" (Slack puts the app's name before it)."""
    text = _EMOJI.sub("", status_text).strip()
    return f"is {text[:1].lower()}{text[1:]}" if text else ""


class AssistantStatus:
    def __init__(self, client: AsyncWebClient, *, enabled: bool = True) -> None:
        self._client = client
        self._enabled = enabled
        self._refused: set[str] = set()  # channels where Slack said this is not an assistant thread

    def applies(self, channel: str, thread_ts: str | None) -> bool:
        """Assistant threads are threads of direct messages (channel ids starting with "D")."""
        return self._enabled and bool(thread_ts) and channel.startswith("D") and channel not in self._refused

    async def show(self, channel: str, thread_ts: str | None, status: str) -> None:
        """Best effort: set (or with "" clear) the thread's status."""
        if not self.applies(channel, thread_ts):
            return
        try:
            await self._client.api_call(
                METHOD, json={"channel_id": channel, "thread_ts": thread_ts, "status": status}
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if error in _UNAVAILABLE:
                log.info("Slack assistant status is unavailable to this app (%s); not using it", error)
                self._enabled = False
            elif exc.response.status_code < 300:  # Slack's "no" (a 429 or 5xx only passes)
                self._refused.add(channel)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("assistant status not set: %s", exc)
