"""The comparison's figures: what one measurement found (`Measurement`) and the tables
`benchmarks/peer_compare.py` prints from them, min / median / max over the repeats."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    kind: str  # "peer", "serve" or "celery"
    workers: int


CONFIGS = {
    c.key: c
    for c in (
        Config("peer-1w", "peer (agno AgentOS), 1 uvicorn worker", "peer", 1),
        Config("peer-2w", "peer (agno AgentOS), 2 uvicorn workers", "peer", 2),
        Config("serve", "Switchboard `serve` (embedded default)", "serve", 0),
        Config("celery", "Switchboard, API + 2 Celery workers", "celery", 2),
    )
}


# ---------------------------------------------------------------- results


@dataclass
class Outcome:
    """What the clients saw: per completed run, when it was first submitted, answered and finished."""

    submitted: list[float] = field(default_factory=list)  # wall clock, first attempt
    ingress: list[float] = field(default_factory=list)  # seconds to the accepted HTTP answer
    accepted: list[float] = field(default_factory=list)  # seconds from the first attempt to it
    finished: list[float] = field(default_factory=list)  # wall clock, run done
    refusals: int = 0
    errors: int = 0
    own_xacts: int = 0  # the watcher's transactions in the measured database

    @property
    def completion(self) -> list[float]:
        return [f - s for s, f in zip(self.submitted, self.finished, strict=True)]


@dataclass(frozen=True)
class Measurement:
    config: str
    runs: int
    completed: int
    errors: int
    refusals: int
    throughput: float
    completion_p50: float
    completion_p99: float
    ingress_p99_ms: float
    accepted_p99: float  # seconds from the first attempt to the accepted answer, refusals waited out
    cpu_ms_per_run: dict[str, float]
    pg_per_run: dict[str, float]
    steal_pct: float
    load: tuple[float, float]
    wall_s: float
    machine_pct: float  # the measured groups' CPU, of what the machine's cores had over the window

    def line(self) -> str:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in self.cpu_ms_per_run.items())
        pg = ", ".join(f"{k} {v:.1f}" for k, v in self.pg_per_run.items())
        return (
            f"  {self.completed}/{self.runs} completed, {self.errors} errors, {self.refusals} refusals; "
            f"{self.throughput:.1f} runs/s; completion p50 {self.completion_p50:.2f}s "
            f"p99 {self.completion_p99:.2f}s; ingress p99 {self.ingress_p99_ms:.0f}ms, accepted p99 "
            f"{self.accepted_p99:.2f}s; wall {self.wall_s:.1f}s\n"
            f"  CPU ms/run: {cpu}; PostgreSQL per run: {pg}; steal {self.steal_pct:.1f}%; "
            f"load {self.load[0]:.2f}/{self.load[1]:.2f}; the groups above used {self.machine_pct:.0f}% of "
            "the machine"
        )


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(
    config: Config,
    runs: int,
    outcome: Outcome,
    cpu: dict[str, float],
    pg: dict[str, float],
    ticks: tuple[tuple[int, int], tuple[int, int]],
    wall_s: float,
) -> Measurement:
    done = len(outcome.finished)
    span = max(outcome.finished) - min(outcome.submitted) if done else float("nan")
    (total0, steal0), (total1, steal1) = ticks
    return Measurement(
        config=config.key,
        runs=runs,
        completed=done,
        errors=runs - done,
        refusals=outcome.refusals,
        throughput=done / span if done else 0.0,
        completion_p50=percentile(outcome.completion, 50),
        completion_p99=percentile(outcome.completion, 99),
        ingress_p99_ms=percentile(outcome.ingress, 99) * 1000,
        accepted_p99=percentile(outcome.accepted, 99),
        cpu_ms_per_run={k: v * 1000 / max(done, 1) for k, v in cpu.items()},
        pg_per_run=pg,
        steal_pct=100 * (steal1 - steal0) / max(total1 - total0, 1),
        load=os.getloadavg()[:2],
        wall_s=wall_s,
        machine_pct=100 * sum(cpu.values()) / max(wall_s * (os.cpu_count() or 1), 1e-9),
    )


# ---------------------------------------------------------------- the table


def spread(values: Sequence[float], fmt: str) -> str:
    """min / median / max, or the one value."""
    if not values:
        return "–"
    if len(values) == 1:
        return format(values[0], fmt)
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


Column = tuple[str, Callable[["Measurement"], float], str]
HEADLINE: tuple[Column, ...] = (
    ("throughput, runs/s", lambda m: m.throughput, ".1f"),
    ("completion p50, s", lambda m: m.completion_p50, ".1f"),
    ("completion p99, s", lambda m: m.completion_p99, ".1f"),
    ("ingress p99, ms", lambda m: m.ingress_p99_ms, ".0f"),
    ("CPU per run: runtime + PostgreSQL + Redis, ms", lambda m: _total_cpu(m), ".1f"),
    ("refusals (429)", lambda m: m.refusals, ".0f"),
    ("errors", lambda m: m.errors, ".0f"),
)
DETAIL: tuple[Column, ...] = (
    ("runtime CPU/run, ms", lambda m: m.cpu_ms_per_run["runtime"], ".1f"),
    ("PostgreSQL CPU/run, ms", lambda m: m.cpu_ms_per_run["postgres"], ".1f"),
    ("Redis CPU/run, ms", lambda m: m.cpu_ms_per_run["redis"], ".1f"),
    ("scripted model CPU/run, ms", lambda m: m.cpu_ms_per_run["model"], ".1f"),
    ("load generator CPU/run, ms", lambda m: m.cpu_ms_per_run["loadgen"], ".1f"),
    ("submit → accepted p99, s", lambda m: m.accepted_p99, ".2f"),
    ("PG commits/run", lambda m: m.pg_per_run["xacts"], ".1f"),
    ("PG rows inserted/run", lambda m: m.pg_per_run["inserted"], ".1f"),
    ("PG rows updated/run", lambda m: m.pg_per_run["updated"], ".1f"),
    ("steal, %", lambda m: m.steal_pct, ".1f"),
    ("load avg, 1 min", lambda m: m.load[0], ".2f"),
)
STATEMENTS: Column = ("PG statements/run", lambda m: m.pg_per_run["statements"], ".1f")


def _total_cpu(m: Measurement) -> float:
    return m.cpu_ms_per_run["runtime"] + m.cpu_ms_per_run["postgres"] + m.cpu_ms_per_run["redis"]


def format_table(results: dict[str, list[Measurement]], title: str, columns: Sequence[Column]) -> str:
    """A markdown table, a row per configuration, each cell min / median / max over the repeats."""
    head = [title, *(c[0] for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, measured in results.items():
        cells = [CONFIGS[key].label, *(spread([get(m) for m in measured], fmt) for _, get, fmt in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_tables(results: dict[str, list[Measurement]], runs: int) -> str:
    """The headline table, then where the CPU and the database work went."""
    detail = list(DETAIL)
    if has_statements(results):
        detail.insert(6, STATEMENTS)
    return "\n\n".join(
        (
            format_table(results, f"{runs:,} concurrent runs (min / median / max)", HEADLINE),
            format_table(results, "per run, and the machine (min / median / max)", detail),
        )
    )


def has_statements(results: dict[str, list[Measurement]]) -> bool:
    measured = [m for ms in results.values() for m in ms]
    return bool(measured) and all("statements" in m.pg_per_run for m in measured)


# ---------------------------------------------------------------- the peer
