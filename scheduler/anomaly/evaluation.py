"""One evaluation of a check, pure: the series and the check's saved state in, the new state and
the incidents that opened or resolved out. The detector judges the whole window (its baseline
needs the history); only points newer than the last one seen move the hysteresis, so a point is
counted once however often the window is read again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scheduler.anomaly.detectors import Detector, Point, Verdict
from scheduler.anomaly.hysteresis import Change, Hysteresis, Streaks


@dataclass(frozen=True)
class Transition:
    change: Change
    point: Point
    verdict: Verdict


@dataclass(frozen=True)
class Evaluation:
    state: dict[str, Any]
    transitions: tuple[Transition, ...]
    new_points: int


def evaluate(
    detector: Detector, hysteresis: Hysteresis, series: Sequence[Point], state: dict[str, Any]
) -> Evaluation:
    last_ts = state.get("last_ts")
    streaks = Streaks(
        int(state.get("anomalous", 0)), int(state.get("normal", 0)), bool(state.get("incident", False))
    )
    transitions = []
    fresh = 0
    for point, verdict in zip(series, detector.judge(series), strict=True):
        if last_ts is not None and point.ts <= last_ts:
            continue
        fresh += 1
        streaks, change = hysteresis.step(streaks, verdict.anomalous)
        if change is not None:
            transitions.append(Transition(change, point, verdict))
        last_ts = point.ts
    new_state = {
        "last_ts": last_ts,
        "anomalous": streaks.anomalous,
        "normal": streaks.normal,
        "incident": streaks.incident,
    }
    return Evaluation(new_state, tuple(transitions), fresh)
