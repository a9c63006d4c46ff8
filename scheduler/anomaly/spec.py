"""An anomaly check as a schedule declares it (`schedule.params`), validated at this boundary:

{
  "title": "Checkout latency",               # optional; defaults to the metric
  "metric": "checkout_latency_ms",
  "source": {"type": "sql", "query": "demo_metric", "args": {"metric": "checkout_latency_ms"}}
         | {"type": "http", "url": "https://…", "path": "data.series", "ts_field": "ts", "value_field": "value"},
  "detector": {"type": "zscore", "window": 30, "threshold": 3, "min_samples": 10}
           | {"type": "ewma", "alpha": 0.2, "k": 3, "min_samples": 10}
           | {"type": "threshold", "above": 500, "below": null},
  "open_after": 2,       # consecutive anomalous points that open an incident
  "resolve_after": 3,    # consecutive normal points that resolve it
  "lookback": 200        # points read per evaluation (the detector's history included)
}

Every number has a floor and a ceiling and must be finite: the spec is checked when the schedule
is created (service/scheduling.py passes `CheckSpec.parse` to the schedule book), so a check
that could only fail at each fire is refused up front.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InvalidInput
from scheduler.anomaly.detectors import Detector, Ewma, Threshold, ZScore
from scheduler.anomaly.hysteresis import Hysteresis

MAX_VALUE = 1e15  # a metric bound past this is a typo, and squares of it still fit a float
MAX_SAMPLES = 10_000

Value = Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE)]
Name = Annotated[str, Field(max_length=200)]
Arg = Name | Annotated[int, Field(ge=-(2**53), le=2**53)] | Value | bool


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SqlSourceSpec(_Spec):
    type: Literal["sql"]
    query: Name
    args: dict[Name, Arg] = Field(default_factory=dict, max_length=20)


class HttpSourceSpec(_Spec):
    type: Literal["http"]
    url: str = Field(max_length=2000)
    path: Name = ""
    ts_field: Name = "ts"
    value_field: Name = "value"


class ThresholdSpec(_Spec):
    type: Literal["threshold"]
    above: Value | None = None
    below: Value | None = None

    def build(self) -> Detector:
        return Threshold(self.above, self.below)


class ZScoreSpec(_Spec):
    type: Literal["zscore"]
    window: int = Field(30, ge=2, le=MAX_SAMPLES)
    threshold: float = Field(3.0, gt=0, le=1000)
    min_samples: int = Field(10, ge=2, le=MAX_SAMPLES)

    def build(self) -> Detector:
        return ZScore(self.window, self.threshold, self.min_samples)


class EwmaSpec(_Spec):
    type: Literal["ewma"]
    alpha: float = Field(0.2, gt=0, le=1)
    k: float = Field(3.0, gt=0, le=1000)
    min_samples: int = Field(10, ge=2, le=MAX_SAMPLES)

    def build(self) -> Detector:
        return Ewma(self.alpha, self.k, self.min_samples)


class CheckSpec(_Spec):
    metric: str = Field(min_length=1, max_length=200)
    title: str = Field("", max_length=150)
    source: Annotated[SqlSourceSpec | HttpSourceSpec, Field(discriminator="type")]
    detector: Annotated[ThresholdSpec | ZScoreSpec | EwmaSpec, Field(discriminator="type")]
    open_after: int = Field(1, ge=1, le=1000)
    resolve_after: int = Field(3, ge=1, le=1000)
    lookback: int = Field(200, ge=1, le=100_000)

    @classmethod
    def parse(cls, params: dict[str, Any]) -> CheckSpec:
        try:
            spec = cls.model_validate(params)
            spec.detector.build()  # its own rules too (a threshold needs above or below)
        except (ValidationError, ValueError) as exc:
            raise InvalidInput(f"invalid anomaly check: {exc}") from exc
        return spec

    def hysteresis(self) -> Hysteresis:
        return Hysteresis(self.open_after, self.resolve_after)

    @property
    def heading(self) -> str:
        return self.title or self.metric
