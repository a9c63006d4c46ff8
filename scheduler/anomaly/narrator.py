"""The narration of an alert: a couple of sentences from the model for the people on call.

The detector has already decided; the model only puts the facts into words. When the model is
unavailable, slow or says nothing, a plain sentence built from the same facts stands in, so an
alert is never held back by its narration.

Offline, the scripted demo model answers with the rule in narration.yaml (it matches the system
prompt below), which the demo script loader adds to every bot's rules.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelError
from core.model.port import ModelClient, ModelRequest

log = logging.getLogger(__name__)

DEMO_SCRIPT = Path(__file__).parent / "narration.yaml"
SYSTEM = (
    "You narrate anomaly alerts for the people on call. A deterministic check has already found the "
    "anomaly; do not second-guess it. In at most two short sentences say what changed and what to "
    "look at first. No greeting."
)


@dataclass(frozen=True)
class Facts:
    title: str
    metric: str
    value: float
    observed_at: float
    detail: str  # the detector's reason, e.g. "z-score 14.2 against the last 30 normal points …"

    def prompt(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.observed_at))
        return f"Alert {self.title}: metric {self.metric} is {self.value:g} at {when}. Reason: {self.detail}."

    def fallback(self) -> str:
        return f"{self.metric} is {self.value:g}: {self.detail}."


class Narrator:
    def __init__(self, model: ModelClient, timeout_s: float = 20.0) -> None:
        self._model = model
        self._timeout_s = timeout_s

    async def narrate(self, facts: Facts, *, tenant_id: str, models: tuple[str, ...]) -> str:
        request = ModelRequest(
            models=models,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": facts.prompt()}],
            tenant_id=tenant_id,
        )
        try:
            reply = await asyncio.wait_for(self._model.complete(request), self._timeout_s)
        except (ModelError, TimeoutError) as exc:
            log.warning("alert narration failed; using the plain text: %s", exc, extra={"tenant": tenant_id})
            return facts.fallback()
        text = (reply.content or "").strip()
        return text[:1500] if text else facts.fallback()
