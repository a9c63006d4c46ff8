"""Detectors: deterministic judges of a metric series. The model never decides what is anomalous.

Each detector walks a series oldest first and gives every point a verdict: anomalous, normal, or
no opinion yet (fewer than `min_samples` points of baseline). The statistical detectors learn
their baseline from normal points only, so an incident does not teach them that it is normal
while it lasts.

    Threshold   above / below fixed bounds; needs no history
    ZScore      |x − mean| / sd of the last `window` normal points exceeds `threshold`
    Ewma        x leaves the band mean ± k·sd of an exponentially weighted mean and variance
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

_TINY = 1e-9  # a flat baseline: any departure from it is anomalous


@dataclass(frozen=True)
class Point:
    ts: float  # seconds since the epoch
    value: float


@dataclass(frozen=True)
class Verdict:
    anomalous: bool | None  # None: not enough baseline yet to judge
    detail: str  # why, in words a person (and the narrating model) can use


class Detector(Protocol):
    @property
    def name(self) -> str: ...

    def judge(self, series: Sequence[Point]) -> list[Verdict]:
        """One verdict per point of `series` (oldest first)."""
        ...


@dataclass(frozen=True)
class Threshold:
    above: float | None = None
    below: float | None = None

    def __post_init__(self) -> None:
        if self.above is None and self.below is None:
            raise ValueError("a threshold needs `above`, `below` or both")

    @property
    def name(self) -> str:
        bounds = [
            f"> {self.above:g}" if self.above is not None else "",
            f"< {self.below:g}" if self.below is not None else "",
        ]
        return "threshold " + " or ".join(b for b in bounds if b)

    def judge(self, series: Sequence[Point]) -> list[Verdict]:
        return [self._one(p.value) for p in series]

    def _one(self, x: float) -> Verdict:
        if self.above is not None and x > self.above:
            return Verdict(True, f"{x:g} is above the threshold {self.above:g}")
        if self.below is not None and x < self.below:
            return Verdict(True, f"{x:g} is below the threshold {self.below:g}")
        return Verdict(False, "within the thresholds")


@dataclass(frozen=True)
class ZScore:
    window: int = 30
    threshold: float = 3.0
    min_samples: int = 10

    def __post_init__(self) -> None:
        if not 2 <= self.min_samples <= self.window:
            raise ValueError("a z-score needs 2 ≤ min_samples ≤ window")

    @property
    def name(self) -> str:
        return f"z-score > {self.threshold:g} over {self.window} points"

    def judge(self, series: Sequence[Point]) -> list[Verdict]:
        baseline: deque[float] = deque(maxlen=self.window)
        out = []
        for p in series:
            if len(baseline) < self.min_samples:
                out.append(Verdict(None, f"{len(baseline)} of {self.min_samples} baseline points"))
                baseline.append(p.value)
                continue
            mean = sum(baseline) / len(baseline)
            sd = math.sqrt(sum((v - mean) ** 2 for v in baseline) / (len(baseline) - 1))
            z = abs(p.value - mean) / max(sd, _TINY)
            anomalous = z > self.threshold
            detail = f"z-score {z:.1f} against the last {len(baseline)} normal points (mean {mean:.4g}, sd {sd:.3g})"
            out.append(Verdict(anomalous, detail))
            if not anomalous:
                baseline.append(p.value)
        return out


@dataclass(frozen=True)
class Ewma:
    alpha: float = 0.2  # weight of the newest normal point
    k: float = 3.0  # band half-width in standard deviations
    min_samples: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.alpha <= 1 or self.k <= 0 or self.min_samples < 2:
            raise ValueError("an EWMA band needs 0 < alpha ≤ 1, k > 0 and min_samples ≥ 2")

    @property
    def name(self) -> str:
        return f"EWMA band ±{self.k:g} sd (alpha {self.alpha:g})"

    def judge(self, series: Sequence[Point]) -> list[Verdict]:
        mean = var = 0.0
        seen = 0
        out = []
        for p in series:
            if seen >= self.min_samples:
                sd = math.sqrt(var)
                low, high = mean - self.k * sd, mean + self.k * sd
                anomalous = not (low - _TINY <= p.value <= high + _TINY)
                out.append(Verdict(anomalous, f"{p.value:g} against the band {low:.4g} … {high:.4g}"))
                if anomalous:
                    continue
            else:
                out.append(Verdict(None, f"{seen} of {self.min_samples} baseline points"))
            if seen == 0:
                mean = p.value
            else:  # West's incremental EWMA variance
                diff = p.value - mean
                mean += self.alpha * diff
                var = (1 - self.alpha) * (var + self.alpha * diff * diff)
            seen += 1
        return out
