"""Card buttons (`adaptiveCard/action` invokes) → decisions. The core decides who may decide;
a refused click is answered with a message only the clicker sees, and nothing changes. Once a
decision is recorded the renderer replaces the card for everyone: the click handler itself never
edits it.

Approve and Deny take the card's optional reason; an option button answers a question with that
option; "Send my answer" answers with the card's text input. Alert cards' buttons (`sb_alert_`
verbs) go to `alerts.TeamsAlerts`.
"""

from __future__ import annotations

import logging
from typing import Any

from channels import refusals
from channels.teams import cards
from channels.teams.activity import Inbound, card_response
from channels.teams.alerts import TeamsAlerts
from channels.teams.identity import TeamsDirectory
from channels.teams.profile import SURFACE
from core.errors import InvalidInput, MisuseError
from core.records import Principal
from core.runtime import Runtime

log = logging.getLogger(__name__)


def explain(exc: MisuseError) -> str:
    """What to tell the person whose click was refused; the invoke's response is plain text, so
    the core's words go as they are."""
    return refusals.explain(exc, str)


class TeamsActions:
    def __init__(self, runtime: Runtime, people: TeamsDirectory, alerts: TeamsAlerts) -> None:
        self._runtime = runtime
        self._people = people
        self._alerts = alerts  # alert cards' buttons (`sb_alert_` verbs)

    async def on_card_action(self, inbound: Inbound, tenant_id: str) -> dict[str, Any]:
        """The invoke's response body: what the clicker is told."""
        action = inbound.value.get("action") or {}
        verb = str(action.get("verb") or "")
        data = raw if isinstance(raw := action.get("data"), dict) else {}
        if not inbound.user_key:
            return card_response("I cannot tell who clicked.")
        who = await self._people.principal(tenant_id, inbound.user_key, inbound.user_name)
        try:
            if self._alerts.handles(verb):
                return card_response(await self._alerts.act(who, verb, data, inbound.conversation.key))
            return card_response(await self._act(who, verb, data))
        except MisuseError as exc:
            log.info("Teams click refused: %s", exc.code, extra={"tenant": tenant_id, "surface": SURFACE})
            return card_response(explain(exc))

    async def _act(self, who: Principal, verb: str, data: dict[str, Any]) -> str:
        if verb in (cards.APPROVE, cards.DENY):
            approve = verb == cards.APPROVE
            reason = str(data.get(cards.REASON_INPUT) or "").strip() or None
            await self._runtime.decide(who, str(data.get("approval_id")), approve=approve, reason=reason)
            return "Approved." if approve else "Denied."
        if verb == cards.ANSWER:
            question_id = str(data.get("question_id"))
            # The options are on the card the clicker sees; the core decides whether they may answer.
            index = data.get("option")
            await self._runtime.answer_option(who, question_id, index if isinstance(index, int) else -1)
            return "Thanks, got it."
        if verb == cards.ANSWER_TEXT:
            answer = str(data.get(cards.ANSWER_INPUT) or "").strip()
            if not answer:
                raise InvalidInput("Type an answer first.")
            await self._runtime.answer(who, str(data.get("question_id")), answer)
            return "Thanks, got it."
        raise InvalidInput("This button does nothing any more.")
