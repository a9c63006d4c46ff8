"""Recording a tool invocation by hand: the state an earlier worker left behind when it died."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from core.store.context import ContextStore
from core.store.schema import tool_invocations
from core.tools.arguments import args_hash


async def record_invocation(
    store: ContextStore,
    tenant_id: str,
    run_id: str,
    key: str,
    tool: str,
    args: dict[str, Any],
    *,
    status: str = "running",
    result: Any = None,
) -> None:
    """`status="running"`: the intent was recorded and the worker died before the outcome."""
    row = insert(tool_invocations).values(
        idempotency_key=key,
        tenant_id=tenant_id,
        run_id=run_id,
        tool=tool,
        args_hash=args_hash(args),
        args=args,
        status=status,
        result=result,
        attempts=1,
        created_at=0,
        updated_at=0,
    )
    await store.db.run(lambda conn: conn.execute(row))
