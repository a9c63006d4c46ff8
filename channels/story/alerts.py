"""What a click on an alert card asks of the core's alert desk, and what the clicker is told;
the same on every surface. The card itself is core's notice (`core.alerts.notices`), drawn by
each surface's notice renderer."""

from __future__ import annotations

from collections.abc import Callable

from core.alerts import notices
from core.alerts.desk import AlertDesk
from core.records import Principal

TOLD = {
    notices.ACK: "Acknowledged: the card now says you are on it.",
    notices.SILENCE: "Silenced for an hour.",
    notices.INVESTIGATE: "Investigating: the assistant answers in this conversation.",
}
MOVED_ON = "This alert has moved on already: someone acted on it, or it is resolved."


async def act(
    desk: AlertDesk,
    who: Principal,
    action: str,
    alert_id: str,
    *,
    surface: str,
    thread_key: Callable[[], str],
) -> str | None:
    """Do what `action` (a core.alerts.notices action id) asks; what to tell the clicker, or None
    for a button that is not one of ours. Raises the desk's MisuseError when they may not;
    Investigate starts the alert's bot in the card's conversation, `thread_key()`."""
    match action:
        case notices.ACK:
            await desk.acknowledge(who, alert_id)
        case notices.SILENCE:
            await desk.silence(who, alert_id)
        case notices.INVESTIGATE:
            await desk.investigate(who, alert_id, surface=surface, thread_key=thread_key())
        case _:
            return None
    return TOLD[action]
