"""Detectors and hysteresis on synthetic series: quiet on noise, one alert per incident,
resolution after recovery, and no verdict before the minimum sample count."""

from __future__ import annotations

import random

import pytest

from scheduler.anomaly.detectors import Detector, Ewma, Point, Threshold, ZScore
from scheduler.anomaly.evaluation import evaluate
from scheduler.anomaly.hysteresis import Change, Hysteresis

ZSCORE = ZScore(window=30, threshold=4, min_samples=10)
DETECTORS: list[Detector] = [ZSCORE, Ewma(alpha=0.2, k=5, min_samples=10)]


def noise(n: int, seed: int = 7, start: float = 0.0) -> list[Point]:
    rng = random.Random(seed)
    return [Point(start + i * 60, 100 + rng.gauss(0, 3)) for i in range(n)]


def with_spike(series: list[Point], at: int, length: int, value: float = 400.0) -> list[Point]:
    return [Point(p.ts, value) if at <= i < at + length else p for i, p in enumerate(series)]


def changes(detector: Detector, series: list[Point], hysteresis: Hysteresis) -> list[tuple[Change, float]]:
    result = evaluate(detector, hysteresis, series, {})
    return [(t.change, t.point.ts) for t in result.transitions]


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: type(d).__name__)
def test_noise_raises_nothing(detector: Detector) -> None:
    for seed in range(5):
        assert changes(detector, noise(500, seed), Hysteresis(open_after=2, resolve_after=3)) == []


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: type(d).__name__)
def test_one_incident_opens_once_and_resolves_after_recovery(detector: Detector) -> None:
    series = with_spike(noise(120), at=80, length=6)
    found = changes(detector, series, Hysteresis(open_after=2, resolve_after=3))
    # Opened at the second anomalous point, resolved at the third normal one after the spike.
    assert found == [(Change.OPENED, series[81].ts), (Change.RESOLVED, series[88].ts)]


def test_flapping_does_not_reopen_within_one_incident() -> None:
    series = noise(100)
    for i in (60, 61, 63, 64, 66):  # anomalous points with single normal points between them
        series[i] = Point(series[i].ts, 400.0)
    found = changes(ZSCORE, series, Hysteresis(open_after=2, resolve_after=3))
    assert [c for c, _ in found] == [Change.OPENED, Change.RESOLVED]
    assert found[1][1] == series[69].ts


def test_open_after_needs_consecutive_points() -> None:
    series = noise(60)
    for i in (40, 42, 44):
        series[i] = Point(series[i].ts, 400.0)
    assert changes(ZSCORE, series, Hysteresis(open_after=2, resolve_after=3)) == []


@pytest.mark.parametrize(
    "detector", [ZScore(window=30, min_samples=10), Ewma(min_samples=10)], ids=["ZScore", "Ewma"]
)
def test_no_verdict_before_min_samples(detector: Detector) -> None:
    series = with_spike(noise(15), at=3, length=5)  # a spike inside the first ten points
    verdicts = detector.judge(series)
    assert [v.anomalous for v in verdicts[:10]] == [None] * 10
    assert changes(detector, series, Hysteresis(open_after=1, resolve_after=1)) == []


def test_threshold_needs_no_history() -> None:
    series = [Point(i, v) for i, v in enumerate([5, 5, 12, 13, 5, 5, 5])]
    found = changes(Threshold(above=10), series, Hysteresis(open_after=2, resolve_after=2))
    assert found == [(Change.OPENED, 3), (Change.RESOLVED, 5)]
    assert Threshold(below=1).judge([Point(0, 0.5)])[0].anomalous is True


def test_state_carries_across_evaluations_and_points_count_once() -> None:
    series = with_spike(noise(100), at=90, length=10)
    hysteresis = Hysteresis(open_after=2, resolve_after=3)
    first = evaluate(ZSCORE, hysteresis, series[:91], {})
    assert first.transitions == ()
    again = evaluate(ZSCORE, hysteresis, series[:91], first.state)  # the same window, read again
    assert again.new_points == 0 and again.transitions == ()
    second = evaluate(ZSCORE, hysteresis, series[:95], first.state)
    assert [(t.change, t.point.ts) for t in second.transitions] == [(Change.OPENED, series[91].ts)]
    assert second.state["incident"] is True


def test_bad_detector_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Threshold()
    with pytest.raises(ValueError):
        ZScore(window=5, min_samples=10)
    with pytest.raises(ValueError):
        Hysteresis(open_after=0)
