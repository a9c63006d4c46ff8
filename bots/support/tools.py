"""The support bot's tools, over a small in-memory demo shop.

`refund_order` honours idempotency keys the way a payment provider does: a second request with
the same key returns the first refund instead of paying again.
"""

from __future__ import annotations

import threading
from typing import Any

from core.tools import RetryPolicy, RiskLevel, ToolContext, tool

_ORDERS: dict[int, dict[str, Any]] = {
    42: {
        "order_id": 42,
        "status": "shipped",
        "carrier": "DHL",
        "eta": "Thursday",
        "total": 59.90,
        "item": "headphones",
    },
    7: {
        "order_id": 7,
        "status": "delivered",
        "carrier": "UPS",
        "eta": "delivered",
        "total": 129.00,
        "item": "kettle",
    },
    1001: {
        "order_id": 1001,
        "status": "processing",
        "carrier": None,
        "eta": "next week",
        "total": 15.50,
        "item": "socks",
    },
}
_refunds: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


@tool(risk=RiskLevel.READ, timeout_s=5.0, idempotent=True)  # a plain read: safe to repeat
def lookup_order(order_id: int) -> dict[str, Any]:
    """Look up an order's status, carrier, delivery estimate and total.

    Args:
        order_id: The order number the customer gave.
    """
    order = _ORDERS.get(order_id)
    if order is None:
        return {"order_id": order_id, "found": False}
    return {**order, "found": True}


@tool(risk=RiskLevel.HIGH, timeout_s=10.0, idempotent=True, retry=RetryPolicy(max_attempts=3))
def refund_order(order_id: int, amount: float, reason: str, ctx: ToolContext) -> dict[str, Any]:
    """Refund money for an order to the customer's original payment method.

    Args:
        order_id: The order to refund.
        amount: How much to refund, at most the order's total. Always explicit: the approver
            signs off on this number.
        reason: Why the customer wants the refund, in their words or as they chose it.
    """
    order = _ORDERS.get(order_id)
    if order is None:
        raise ValueError(f"order {order_id} does not exist")
    if amount <= 0 or amount > order["total"]:
        raise ValueError(f"amount must be between 0 and {order['total']}")
    with _lock:
        if ctx.idempotency_key not in _refunds:
            _refunds[ctx.idempotency_key] = {
                "refund_id": f"rf_{len(_refunds) + 1:05d}",
                "order_id": order_id,
                "amount": amount,
                "reason": reason,
                "status": "refunded",
            }
        return _refunds[ctx.idempotency_key]


def refunds_for(run_id: str) -> list[dict[str, Any]]:
    """The demo payment provider's refunds made by one run (for tests and the demo)."""
    with _lock:
        return [r for key, r in _refunds.items() if key.startswith(f"{run_id}:")]
