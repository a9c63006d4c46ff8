"""The Celery application, configured for "Celery is a nudge, SQL is the truth".

A message only says "advance run R". Whether anyone may is decided by the run's lease and fence
in the store, so every delivery problem Celery can have (duplicates, redeliveries, lost
messages) costs at most a wasted lease check or a sweeper pass:

- late acks, and reject on worker loss: a message is acknowledged after its step, and a killed
  pool child's message goes straight back to the queue;
- a prefetch of one: no worker hoards nudges another could run now;
- a visibility timeout far longer than any step: Redis never re-delivers a message that is still
  being worked on. A dead worker's runs are recovered by the sweeper when their lease expires,
  long before that timeout;
- no ETA or countdown messages: waiting runs (approvals, questions, held by limits) live only in
  the database; the sweeper and the decision paths nudge them;
- no results, no remote control, no events: nothing in Redis but the queue itself, so a flushed
  or restarted Redis loses only nudges, which the sweeper re-creates.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery

ADVANCE = "switchboard.advance"


@dataclass(frozen=True)
class CeleryOptions:
    queue: str = "switchboard"
    visibility_timeout_s: float = 3600.0


def celery_app(broker_url: str, options: CeleryOptions) -> Celery:
    app = Celery("switchboard", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": options.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        task_default_queue=options.queue,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
    )
    return app


def register_advance(app: Celery, advance: Callable[[str], None]) -> None:
    """The one task: advance run R by a step. `advance` is sync (Celery calls it on a pool thread)."""

    def switchboard_advance(run_id: str) -> None:
        advance(run_id)

    app.task(name=ADVANCE, acks_late=True, ignore_result=True)(switchboard_advance)


_BODY_TAIL = ', {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'
_ORIGIN = f"{os.getpid()}@{socket.gethostname()}"


def nudge_message(run_id: str, queue: str) -> bytes:
    """The bytes `send_task(ADVANCE, [run_id], exchange="", routing_key=queue)` pushes onto the
    queue's Redis list: a Celery protocol-2 task message in kombu's Redis envelope. Written here
    so a nudge is one Redis call instead of a trip through kombu on a thread of its own;
    tests/scale/test_celery_queue.py checks it against what `send_task` writes."""
    task_id = str(uuid.uuid4())
    body = "[" + json.dumps([run_id]) + _BODY_TAIL
    message = {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": ADVANCE,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": repr([run_id]),
            "kwargsrepr": "{}",
            "origin": _ORIGIN,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": task_id,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return json.dumps(message).encode()
