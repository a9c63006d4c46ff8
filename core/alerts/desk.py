"""What people do with an alert, for every surface: acknowledge, silence, investigate.

Who may do what:
    acknowledge   any member of the alert's tenant (acknowledging only says "I am on it")
    investigate   any member; the ops bot's run is theirs (submitted with them as principal)
    silence       an admin, or the owner of the check's schedule: silencing hides the next
                  incidents from everyone, so it is not for any passer-by

An alert of another tenant is NotFound, as everywhere. Every decision is audited, and so is
every refusal (who tried what), in the same store as the decisions.
"""

from __future__ import annotations

from collections.abc import Awaitable

from core.alerts.lifecycle import Alert, AlertStatus
from core.alerts.notices import MAX_SILENCE_S, SILENCE_S
from core.errors import Forbidden, InvalidInput, MisuseError
from core.ports import AuditLog
from core.records import Principal
from core.runtime import Runtime, Submission
from core.store.alerts import AlertStore


class AlertDesk:
    def __init__(self, runtime: Runtime, alerts: AlertStore, audit: AuditLog) -> None:
        self._runtime = runtime
        self._alerts = alerts
        self._audit = audit

    async def alert(self, who: Principal, alert_id: str) -> Alert:
        return await self._alerts.get(who.tenant_id, alert_id)

    async def alerts(self, who: Principal, status: AlertStatus | None = None) -> list[Alert]:
        """The tenant's alerts (in `status`), oldest first."""
        return await self._alerts.find(who.tenant_id, status=status)

    async def acknowledge(self, who: Principal, alert_id: str) -> Alert:
        return await self._guarded(
            who,
            alert_id,
            "acknowledge",
            self._alerts.change(
                who.tenant_id,
                alert_id,
                actor=who.user_id,
                action="alert.acknowledged",
                to=AlertStatus.ACKNOWLEDGED,
                values={"acked_by": who.user_id},
            ),
        )

    async def silence(self, who: Principal, alert_id: str, for_s: float = SILENCE_S) -> Alert:
        alert = await self._alerts.get(who.tenant_id, alert_id)
        if not (who.is_admin or who.user_id == alert.owner_id):
            await self._refused(who, alert_id, "silence", "forbidden")
            raise Forbidden("Only an admin or the owner of this check can silence its alerts.")
        if not 0 < for_s <= MAX_SILENCE_S:  # NaN fails too
            raise InvalidInput(f"a silence lasts more than 0 s and at most {MAX_SILENCE_S:.0f} s")
        until = self._alerts.clock.now() + for_s
        return await self._guarded(
            who,
            alert_id,
            "silence",
            self._alerts.change(
                who.tenant_id,
                alert_id,
                actor=who.user_id,
                action="alert.silenced",
                to=AlertStatus.SILENCED,
                values={"silenced_by": who.user_id, "silenced_until": until},
            ),
        )

    async def investigate(self, who: Principal, alert_id: str, *, surface: str, thread_key: str) -> Alert:
        """Start a run of the alert's bot in the alert's thread, as the person who asked."""
        alert = await self._alerts.get(who.tenant_id, alert_id)
        if alert.investigation_run_id is not None:
            await self._refused(who, alert_id, "investigate", "already_investigating")
            raise Forbidden("An investigation of this alert is already under way in its thread.")
        submitted = await self._runtime.submit(
            who,
            Submission(
                bot=alert.bot,
                text=investigation_prompt(alert),
                surface=surface,
                thread_key=thread_key,
                idempotency_key=f"alert:{alert.id}:investigate",
            ),
        )
        run_id = submitted.run.id if submitted.run is not None else None
        return await self._guarded(
            who,
            alert_id,
            "investigate",
            self._alerts.change(
                who.tenant_id,
                alert_id,
                actor=who.user_id,
                action="alert.investigated",
                values={"investigation_run_id": run_id},
                once="investigation_run_id",
            ),
        )

    async def _guarded(self, who: Principal, alert_id: str, what: str, change: Awaitable[Alert]) -> Alert:
        """Await the change; a refused one (already acknowledged, resolved …) is audited."""
        try:
            return await change
        except MisuseError as exc:
            await self._refused(who, alert_id, what, exc.code)
            raise

    async def _refused(self, who: Principal, alert_id: str, what: str, why: str) -> None:
        await self._audit.record(
            who.tenant_id,
            "alert.refused",
            actor_user_id=who.user_id,
            detail={"alert_id": alert_id, "action": what, "reason": why},
        )


def investigation_prompt(alert: Alert) -> str:
    return (
        f"Investigate alert {alert.id}: {alert.title}. The metric {alert.metric} was {alert.value:g} "
        f"({alert.detector}). {alert.narration}"
    )
