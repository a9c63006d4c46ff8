"""Runs nobody started with a message (scheduled posts): where they go and what they post."""

from __future__ import annotations

from dataclasses import replace

import pytest

from channels.slack.profile import address, is_proactive, proactive_key
from channels.slack.renderer import SlackRenderer
from core.events import EventType
from core.records import RunEvent
from tests.channels.slack.test_renderer import RUN


@pytest.mark.parametrize(
    ("target", "key", "where"),
    [
        ({"channel": "C1"}, "C1:~sch_1.100", {"channel": "C1"}),
        ({"channel": "C1", "thread": "1700.1"}, "C1:1700.1", {"channel": "C1", "thread_ts": "1700.1"}),
        ({"user": "U1"}, "@U1:~sch_1.100", {"user": "U1"}),
    ],
)
def test_targets_become_session_keys_and_addresses(
    target: dict[str, str], key: str, where: dict[str, str]
) -> None:
    assert proactive_key({"surface": "slack", **target}, "sch_1.100") == key
    assert address(key) == where
    assert is_proactive(key) == ("thread" not in target)


def test_a_proactive_run_posts_its_answer_at_top_level_without_a_status_line() -> None:
    run = replace(RUN, thread_key="C1:~sch_1.100")
    renderer = SlackRenderer()
    created = renderer.render(run, [RunEvent(run.id, 1, EventType.RUN_CREATED, {}, 0.0)])
    assert [(o.target, o.payload) for o in created] == [({"channel": "C1"}, {"op": "noop"})]
    done = renderer.render(
        run, [RunEvent(run.id, 5, EventType.RUN_COMPLETED, {"answer": "*Ops digest*"}, 0.0)]
    )
    answer = next(o for o in done if o.payload.get("op") == "post")
    assert answer.target == {"channel": "C1"} and "thread_ts" not in answer.target
