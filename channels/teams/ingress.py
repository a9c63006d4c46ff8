"""Teams messages → runs: every message in a personal chat, and messages that @mention the bot
in group chats and channels (Teams sends a bot only those unless it was granted more). Each one
records the message and creates its run (one transaction) and returns; the model is never
waited on. A redelivered activity is dropped by its id in the store's inbound events."""

from __future__ import annotations

import logging

from channels.teams.activity import Inbound
from channels.teams.identity import TeamsDirectory
from channels.teams.markdown import escape
from channels.teams.profile import SURFACE
from core.errors import InvalidInput, UnknownBot
from core.ports import Outbox
from core.runtime import Runtime, Submission

log = logging.getLogger(__name__)


class TeamsIngress:
    def __init__(self, runtime: Runtime, people: TeamsDirectory, outbox: Outbox, bot: str) -> None:
        self._runtime = runtime
        self._people = people
        self._outbox = outbox
        self._bot = bot

    async def on_message(self, inbound: Inbound, tenant_id: str) -> None:
        if inbound.from_us or not inbound.user_key or not inbound.text:
            return
        if inbound.conversation_type != "personal" and not inbound.mentions_us:
            return
        who = await self._people.principal(tenant_id, inbound.user_key, inbound.user_name)
        key = inbound.conversation.key
        sub = Submission(
            bot=self._bot, text=inbound.text, surface=SURFACE, thread_key=key, event_id=inbound.event_id
        )
        try:
            submitted = await self._runtime.submit(who, sub)
        except (InvalidInput, UnknownBot) as exc:  # retrying will not help: say so, and acknowledge
            log.warning(
                "Teams message refused: %s", exc.code, extra={"tenant": tenant_id, "surface": SURFACE}
            )
            await self._outbox.put(
                tenant_id=tenant_id,
                surface=SURFACE,
                dedupe_key=f"teams:refused:{inbound.event_id}",
                target={"conversation": key},
                payload={"op": "post", "text": f"Sorry, I cannot take this message: {escape(exc.message)}"},
            )
            return
        if submitted.created and submitted.run is not None:
            log.debug(
                "Teams message accepted",
                extra={"tenant": tenant_id, "run_id": submitted.run.id, "surface": SURFACE},
            )
