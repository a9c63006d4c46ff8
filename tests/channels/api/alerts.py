"""Alerts for API and CLI tests, opened as an anomaly check opens them, without a check to run."""

from __future__ import annotations

from core.alerts.lifecycle import Alert
from core.store.alerts import AlertStore, CheckAdvance, NewAlert
from core.store.context import ContextStore


async def raise_alert(
    store: ContextStore, tenant_id: str, owner_id: str, *, bot: str = "support", check_id: str = "sch_latency"
) -> Alert:
    """An open alert of a surface without cards (nothing is posted), investigated by `bot`."""
    alerts = AlertStore(store.db, store.clock, {})
    new = NewAlert(
        incident_ts=store.clock.now() - 60,
        owner_id=owner_id,
        bot=bot,
        target={"surface": "test", "channel": "C1"},
        title="Checkout latency",
        metric="checkout_latency_ms",
        detector="zscore",
        value=910.0,
        narration="checkout_latency_ms jumped to 910.",
    )
    done = await alerts.advance(tenant_id, check_id, CheckAdvance(0, {}, (new,)))
    return done.opened[0]
