"""Built-in digest context: the tenant's activity in the window before the fire.

Plain text with fixed labels ("runs: 12 (completed 10, failed 2)"), short enough for any model
and easy to pick apart for the offline demo model's rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.schedule_records import Schedule
from core.store.activity import Activity

# A tenant's activity between two times (tenant, since, until): `core.store.activity.activity`
# bound to the store's database.
ActivityReads = Callable[[str, float, float], Awaitable[Activity]]


class ActivitySource:
    """Yesterday's (the window's) runs, approvals, failures and cost of the schedule's tenant."""

    def __init__(self, read: ActivityReads) -> None:
        self._read = read

    async def section(self, schedule: Schedule, since: float, until: float) -> str | None:
        seen = await self._read(schedule.tenant_id, since, until)
        hours = round((until - since) / 3600)
        lines = [
            f"Activity in the last {hours} h:",
            f"runs: {seen.runs} ({_counts(seen.runs_by_status)})",
            f"approvals: {sum(seen.approvals_by_status.values())} ({_counts(seen.approvals_by_status)})",
            f"cost: ${seen.cost_usd:.2f}",
        ]
        if seen.failures:
            failed = ", ".join(f"{run_id} ({bot}: {code or 'error'})" for run_id, bot, code in seen.failures)
            lines.append(f"failures: {failed}")
        else:
            lines.append("failures: none")
        return "\n".join(lines)


def _counts(by_status: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(by_status.items())) or "none"
