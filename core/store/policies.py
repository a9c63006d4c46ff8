"""Per-tenant policy rules that raise tools' approval tiers ("refunds over 100 need an admin")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from core.clock import Clock
from core.ids import new_id
from core.store.database import Database
from core.store.schema import tenant_policies
from core.tiers import PolicyRule, Tier, validate_condition


class PolicyStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self, tenant_id: str, tool: str, tier: Tier, condition: dict[str, Any] | None = None
    ) -> str:
        condition = condition or {}
        validate_condition(condition)
        rule_id = new_id("pol")
        stmt = insert(tenant_policies).values(
            id=rule_id,
            tenant_id=tenant_id,
            tool=tool,
            condition=condition,
            tier=tier.value,
            created_at=self._clock.now(),
        )
        await self._db.run(lambda conn: conn.execute(stmt))
        return rule_id

    async def remove(self, tenant_id: str, rule_id: str) -> None:
        stmt = delete(tenant_policies).where(
            tenant_policies.c.tenant_id == tenant_id, tenant_policies.c.id == rule_id
        )
        await self._db.run(lambda conn: conn.execute(stmt))

    async def rules(self, tenant_id: str, tool: str | None = None) -> list[PolicyRule]:
        stmt = select(tenant_policies).where(tenant_policies.c.tenant_id == tenant_id)
        if tool is not None:
            stmt = stmt.where(tenant_policies.c.tool == tool)
        ordered = stmt.order_by(tenant_policies.c.id)
        rows = await self._db.run(lambda conn: conn.execute(ordered).all())
        return [rule_from_row(r) for r in rows]


def rule_from_row(r: Any) -> PolicyRule:
    return PolicyRule(tool=r.tool, tier=Tier(r.tier), condition=r.condition)
