"""An alert, told as notices: the card when it opens, the card edited as people act on it, and a
reply in the card's thread when it resolves. Pure: built from the Alert record alone."""

from __future__ import annotations

import time

from core.alerts.lifecycle import Alert, AlertStatus
from core.notices import Notice, NoticeAction, user_ref

ACK = "alert_ack"
INVESTIGATE = "alert_investigate"
SILENCE = "alert_silence"
SILENCE_S = 3600.0  # the button silences for an hour
MAX_SILENCE_S = 30 * 86_400.0  # longer than a month is a paused check, not a silence


def card_key(alert_id: str) -> str:
    return f"alert:{alert_id}:card"


def card(alert: Alert) -> Notice:
    """The alert's card as first posted."""
    return _card(alert, key=card_key(alert.id), ref=None)


def card_update(alert: Alert) -> Notice:
    """The card as it reads now (who acknowledged, silenced, investigates), edited in place."""
    return _card(alert, key=f"{card_key(alert.id)}:v{alert.version}", ref=card_key(alert.id))


def resolution(alert: Alert, note: str) -> Notice:
    return Notice(
        key=f"alert:{alert.id}:resolved",
        target=alert.target,
        text=f"Resolved: {note}",
        reply_to=card_key(alert.id),
        group=alert.id,
    )


def _card(alert: Alert, *, key: str, ref: str | None) -> Notice:
    return Notice(
        key=key,
        target=alert.target,
        title=f"Alert: {alert.title}",
        text=alert.narration,
        fields=(
            ("Metric", alert.metric),
            ("Value", f"{alert.value:g}"),
            ("Detector", alert.detector),
            ("Status", status_line(alert)),
        ),
        actions=_actions(alert),
        ref=ref,
        group=alert.id,
    )


def status_line(alert: Alert) -> str:
    parts = [alert.status.value.capitalize()]
    if alert.acked_by:
        parts.append(f"acknowledged by {user_ref(alert.acked_by)}")
    if alert.status is AlertStatus.SILENCED and alert.silenced_until is not None:
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(alert.silenced_until))
        who = f" by {user_ref(alert.silenced_by)}" if alert.silenced_by else ""
        parts.append(f"silenced{who} until {until}")
    if alert.investigation_run_id:
        parts.append("investigation started")
    return " · ".join(parts)


def _actions(alert: Alert) -> tuple[NoticeAction, ...]:
    if alert.status is AlertStatus.RESOLVED:
        return ()
    actions = []
    if alert.acked_by is None:
        actions.append(NoticeAction(ACK, "Acknowledge", alert.id, "primary"))
    if alert.investigation_run_id is None:
        actions.append(NoticeAction(INVESTIGATE, "Investigate", alert.id))
    if alert.status is not AlertStatus.SILENCED:
        actions.append(NoticeAction(SILENCE, "Silence 1 h", alert.id, "danger"))
    return tuple(actions)
