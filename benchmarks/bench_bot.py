"""The benchmark bot: two model calls and one tool call per run, no approval needed.

"order N" → the model calls `lookup` (a READ tool, idempotent) → the model answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.bots import Bot
from core.tools import RiskLevel, ToolContext, tool

SCRIPT = Path(__file__).parent / "bench_script.yaml"


@tool(risk=RiskLevel.READ, idempotent=True, timeout_s=10.0)
def lookup(order_id: str, ctx: ToolContext) -> dict[str, Any]:
    """Look an order up.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "shipped"}


bot = Bot(
    name="bench",
    description="Looks orders up (the benchmark workload).",
    instructions="Look the order up, then say its status.",
    model="bench-model",
    tools=(lookup,),
    demo_script=SCRIPT,
    elicitation=False,
)
