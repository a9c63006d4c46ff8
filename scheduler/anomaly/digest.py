"""The "alerts" digest context: what the anomaly checks raised in the digest's window, for bots
that list "alerts" in `Bot.digest_context` (the ops bot does)."""

from __future__ import annotations

from core.alerts.lifecycle import Alert, AlertStatus
from core.schedule_records import Schedule
from core.store.alerts import AlertStore


class AlertDigest:
    def __init__(self, alerts: AlertStore) -> None:
        self._alerts = alerts

    async def section(self, schedule: Schedule, since: float, until: float) -> str | None:
        found = [a for a in await self._alerts.recent(schedule.tenant_id, since) if a.created_at < until]
        if not found:
            return None
        hours = round((until - since) / 3600)
        return "\n".join([f"Alerts in the last {hours} h:", *(_line(a, since) for a in found)])


def _line(alert: Alert, since: float) -> str:
    status = alert.status.value
    if alert.created_at < since and alert.status is not AlertStatus.RESOLVED:
        status += ", opened before this window"
    return f"- {alert.title}: {alert.metric} = {alert.value:g} ({alert.detector}); {status}"
