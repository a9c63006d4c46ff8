"""The peer runtime for benchmarks/peer_compare.py: Agno AgentOS on the benchmark workload.

Runs with the peer's own virtualenv (never the repository's), which peer_compare.py creates:

    ~/.cache/switchboard-bench/agno-venv/bin/python -m uvicorn peer_app:app --app-dir benchmarks \
        --host 127.0.0.1 --port 18500 --workers 2

`python peer_app.py` alone creates the peer's tables (AgentOS's own startup, once), so that two
uvicorn workers starting together do not race to create them.

One agent, as its documentation builds it: an OpenAI-compatible chat model pointed at our scripted
model (PEER_MODEL_URL), one read tool (`lookup`, the same answer as benchmarks/bench_bot.py), the
session stored in PostgreSQL (PEER_DATABASE_URL) through agno's PostgresDb, or its AsyncPostgresDb
when PEER_DB=async. Telemetry is off: only 127.0.0.1 is reached.
"""

from __future__ import annotations

import asyncio
import json
import os

from agno.agent import Agent
from agno.db.postgres import AsyncPostgresDb, PostgresDb
from agno.models.openai import OpenAIChat
from agno.os import AgentOS


def lookup(order_id: str) -> str:
    """Look an order up.

    Args:
        order_id: The order number.
    """
    # JSON, as our bench bot's tool result reaches the model (agno would send a dict's repr).
    return json.dumps({"order_id": order_id, "status": "shipped"})


url = os.environ["PEER_DATABASE_URL"]
db = AsyncPostgresDb(db_url=url) if os.environ.get("PEER_DB") == "async" else PostgresDb(db_url=url)
agent = Agent(
    id="bench",
    name="bench",
    # Switchboard's model client defaults (core/settings.py, ModelSettings): 60 s, 3 retries. The
    # OpenAI SDK's own 5 s connect timeout fails runs when 1,000 share one busy event loop.
    model=OpenAIChat(
        id="bench-model", base_url=os.environ["PEER_MODEL_URL"], api_key="bench", timeout=60.0, max_retries=3
    ),
    instructions="Look the order up, then say its status.",
    tools=[lookup],
    db=db,
    telemetry=False,
)
agent_os = AgentOS(id="bench-os", agents=[agent], db=db, telemetry=False)
app = agent_os.get_app()


async def _provision() -> None:
    async with app.router.lifespan_context(app):
        pass


if __name__ == "__main__":
    asyncio.run(_provision())
