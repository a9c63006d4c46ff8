"""The Celery queue's producer side against real Redis: the message it writes is the one Celery's
`send_task` would write, nudges are deduplicated by their marker, and a delivery advances its run
step after step while it stays active."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from core.queue.celery_app import ADVANCE, CeleryOptions, celery_app, nudge_message
from core.queue.celery_queue import CeleryQueue, NudgeOptions
from tests.scale.cluster import Cluster

Enqueue = Callable[[str], Awaitable[None]]


def pushed(redis_url: str, queue: str = "switchboard") -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    try:
        return [json.loads(m) for m in reversed(client.lrange(queue, 0, -1))]
    finally:
        client.close()


def test_the_message_is_the_one_send_task_writes(redis_url: str) -> None:
    app = celery_app(redis_url, CeleryOptions())
    app.send_task(ADVANCE, args=["run_1"], exchange="", routing_key="switchboard")
    [theirs] = pushed(redis_url)
    ours = json.loads(nudge_message("run_1", "switchboard"))
    assert ours.keys() == theirs.keys()
    for part in ("headers", "properties"):
        assert ours[part].keys() == theirs[part].keys(), part
    for same in ("content-encoding", "content-type"):
        assert ours[same] == theirs[same]
    assert ours["properties"]["delivery_info"] == theirs["properties"]["delivery_info"]
    assert ours["headers"]["task"] == theirs["headers"]["task"] == ADVANCE
    decode = lambda m: json.loads(base64.b64decode(m["body"]))  # noqa: E731
    assert decode(ours) == decode(theirs)


@pytest.fixture
async def queue(redis_url: str) -> CeleryQueue:
    async def never(run_id: str, enqueue: Enqueue) -> None:
        raise AssertionError("not delivering")

    return CeleryQueue(Redis.from_url(redis_url), never, NudgeOptions())


async def test_a_waiting_nudge_is_not_sent_twice(queue: CeleryQueue, redis_url: str) -> None:
    try:
        await queue.enqueue("run_1")
        await queue.enqueue("run_1")
        await queue.enqueue("run_2")
        assert [m["headers"]["argsrepr"] for m in pushed(redis_url)] == ["['run_1']", "['run_2']"]
    finally:
        await queue.stop()


async def test_a_delivery_steps_its_run_once_and_what_it_enqueues_goes_to_the_broker(redis_url: str) -> None:
    steps: list[str] = []

    async def handler(run_id: str, enqueue: Enqueue) -> None:
        steps.append(run_id)
        await enqueue("other")  # e.g. the next run of its session
        await enqueue(run_id)  # still active after the worker's steps under its lease

    queue = CeleryQueue(Redis.from_url(redis_url), handler, NudgeOptions())
    try:
        await queue.enqueue("run_1")
        await queue.deliver("run_1")
    finally:
        await queue.stop()
    assert steps == ["run_1"]  # the worker takes its steps in a row; the queue does not loop
    # run_1's marker went with its delivery, so it queues again, behind "other"
    assert [m["headers"]["argsrepr"] for m in pushed(redis_url)] == ["['run_1']", "['other']", "['run_1']"]


async def test_an_unreachable_broker_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def never(run_id: str, enqueue: Enqueue) -> None: ...

    queue = CeleryQueue(
        Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), never, NudgeOptions()
    )
    try:
        await queue.enqueue("run_1")
    finally:
        await queue.stop()
    assert "the sweeper will nudge the run" in caplog.text


async def test_a_worker_lowers_its_own_priority_so_ingress_answers_first(cluster: Cluster) -> None:
    default = cluster.worker("default")
    plain = cluster.worker("plain", SWITCHBOARD_QUEUE__WORKER_NICE="0")
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, default.pid) == min(mine + 10, 19)
    assert os.getpriority(os.PRIO_PROCESS, plain.pid) == mine
