"""`/metrics` on a wired service: runs by state from the database, the queue, the outbox, and the
counters steps, model calls, tools and breakers leave behind."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from core.lifecycle import RunStatus
from core.records import Principal, Role
from core.resilience.breaker import BreakerBoard, BreakerOptions
from core.runtime import Submission
from core.settings import Settings
from service.composition import build_service
from service.metrics import metrics_route


def sample(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric, _, rest = key.partition("{")
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if metric == name and found == want:
            return float(value)
    return None


async def test_metrics_describe_the_service(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/metrics.db", bots=["benchmarks.bench_bot:bot"], broker_url=None
    )
    svc = await build_service(settings)
    await svc.start()
    try:
        tenant = await svc.store.directory.create_tenant("metrics")
        user = await svc.store.directory.create_user(tenant, "m")
        who = Principal(tenant, user.id, Role.MEMBER)
        submitted = await svc.runtime.submit(who, Submission("bench", "order 7"))
        assert submitted.run is not None
        run = await svc.runtime.wait(who, submitted.run.id, timeout_s=20)
        assert run.status is RunStatus.COMPLETED, run
        board = BreakerBoard(BreakerOptions(failures=1))
        board.get("tool:flaky").failure()

        app = Starlette(routes=[metrics_route(svc)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/metrics")
    finally:
        await svc.stop()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "switchboard_runs", state="completed") == 1
    assert sample(text, "switchboard_runs", state="queued") == 0
    assert sample(text, "switchboard_queue_depth") == 0
    assert sample(text, "switchboard_outbox_backlog") is not None
    assert (sample(text, "switchboard_step_seconds_count", outcome="committed") or 0) >= 3
    assert (sample(text, "switchboard_model_seconds_count", model="bench-model") or 0) >= 2
    assert (sample(text, "switchboard_model_tokens_total", model="bench-model", kind="prompt") or 0) > 0
    assert (sample(text, "switchboard_tool_seconds_count", tool="lookup") or 0) >= 1
    assert sample(text, "switchboard_breaker_state", breaker="tool:flaky") == 2
    assert sample(text, "switchboard_admissions_total", outcome="accepted") is not None
