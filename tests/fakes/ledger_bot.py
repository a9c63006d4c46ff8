"""A bot whose tools record every effect in a ledger file, so tests can count side effects across
worker processes that kill each other.

`ship` honours idempotency keys (the "external system" dedupes); `charge` does not; `stock` only
reads, and every read is written down too, to count how often it ran.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from core.bots import Bot
from core.tools import RiskLevel, ToolContext, tool


def ledger_path() -> Path:
    return Path(os.environ.get("LEDGER_PATH", "/tmp/switchboard-ledger.jsonl"))


def read_ledger(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or ledger_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append(entry: dict[str, Any], *, dedupe: bool) -> None:
    path = ledger_path()
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        if dedupe and any(json.loads(line)["key"] == entry["key"] for line in f if line.strip()):
            return
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


@tool(risk=RiskLevel.EXTERNAL, idempotent=True)
def ship(item: str, ctx: ToolContext) -> dict[str, Any]:
    """Ship an item (deduplicated by idempotency key).

    Args:
        item: What to ship.
    """
    _append({"tool": "ship", "key": ctx.idempotency_key, "item": item, "t": time.time()}, dedupe=True)
    return {"shipped": item}


@tool(risk=RiskLevel.EXTERNAL)
def charge(amount: int, ctx: ToolContext) -> dict[str, Any]:
    """Charge the customer (not idempotent).

    Args:
        amount: How much.
    """
    _append({"tool": "charge", "key": ctx.idempotency_key, "amount": amount, "t": time.time()}, dedupe=False)
    return {"charged": amount}


@tool(risk=RiskLevel.READ, idempotent=True)
def stock(item: str, ctx: ToolContext) -> dict[str, Any]:
    """How many of an item are in stock (a read: safe to repeat).

    Args:
        item: Which item.
    """
    _append({"tool": "stock", "key": ctx.idempotency_key, "item": item, "t": time.time()}, dedupe=False)
    return {"item": item, "in_stock": 3}


bot = Bot(
    name="ledger",
    instructions="Ship a, charge 5, ship b, then say done.",
    model="ledger-model",
    tools=(ship, charge, stock),
    demo_script=Path(__file__).parent / "ledger_script.yaml",
)
