"""Where a benchmark's CPU and database work went: /proc per process group, pg_stat_database.

Used by benchmarks/peer_compare.py. A process group is a set of process trees (a server and the
workers it forks) or a kind of process (PostgreSQL backends of one database and the server's own
processes, Redis). `CpuLedger` is fed /proc snapshots, so a process that exits between two
snapshots keeps the CPU it had at the last one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = ("runtime", "postgres", "redis", "model", "loadgen")
WATCH_MARK = "/* benchmark watcher */"  # queries of the benchmark itself, left out of the counts


@dataclass(frozen=True)
class ProcRow:
    pid: int
    ppid: int
    comm: str
    cpu_s: float  # user + system of the process itself (children are rows of their own)
    title: str = ""  # the command line, read for PostgreSQL processes only


def parse_pid_stat(text: str) -> tuple[str, int, float]:
    """(command name, parent pid, user + system CPU seconds) from /proc/PID/stat."""
    head, tail = text.rsplit(")", 1)
    fields = tail.split()
    return head.split("(", 1)[1], int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def parse_cpu_line(text: str) -> tuple[int, int]:
    """(total ticks, steal ticks) from /proc/stat's first line (guest time is already in user)."""
    fields = [int(f) for f in text.split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


_CLIENT = re.compile(r"\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]")


def is_our_postgres(title: str, database: str) -> bool:
    """A backend serving `database`, or one of the server's own processes (postmaster, WAL
    writer, checkpointer…); not the backends that other people's tests keep busy."""
    if _CLIENT.search(title):
        return f" {database} " in title
    return True


def descendants(rows: dict[int, ProcRow], roots: Iterable[int]) -> set[int]:
    found = {pid for pid in roots if pid in rows}
    children: dict[int, list[int]] = {}
    for row in rows.values():
        children.setdefault(row.ppid, []).append(row.pid)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@dataclass(frozen=True)
class Roles:
    """Which processes belong to which group."""

    runtime: tuple[int, ...]
    model: tuple[int, ...]
    database: str
    loadgen: int = field(default_factory=os.getpid)

    def classify(self, rows: dict[int, ProcRow]) -> dict[int, str]:
        groups: dict[int, str] = {}
        for pid in descendants(rows, self.runtime):
            groups[pid] = "runtime"
        for pid in descendants(rows, self.model):
            groups[pid] = "model"
        for row in rows.values():
            if row.comm == "postgres" and is_our_postgres(row.title, self.database):
                groups[row.pid] = "postgres"
            elif row.comm == "redis-server":
                groups[row.pid] = "redis"
        if self.loadgen in rows:
            groups[self.loadgen] = "loadgen"
        return groups


@dataclass
class CpuLedger:
    """CPU seconds per group since `start`: each process counts from its value at the start (or
    from 0 if it started later) to the last value seen."""

    roles: Roles
    baseline: dict[int, float] = field(default_factory=dict)
    last: dict[int, tuple[str, float]] = field(default_factory=dict)

    def start(self, rows: dict[int, ProcRow]) -> None:
        self.baseline = {pid: row.cpu_s for pid, row in rows.items()}
        self.last = {}
        self.observe(rows)

    def observe(self, rows: dict[int, ProcRow]) -> None:
        for pid, group in self.roles.classify(rows).items():
            self.last[pid] = (group, rows[pid].cpu_s)

    def totals(self) -> dict[str, float]:
        sums = dict.fromkeys(GROUPS, 0.0)
        for pid, (group, cpu) in self.last.items():
            sums[group] += max(0.0, cpu - self.baseline.get(pid, 0.0))
        return sums


def read_procs() -> dict[int, ProcRow]:
    rows = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, ppid, cpu = parse_pid_stat(stat.read_text())
            title = ""
            if comm == "postgres":
                title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # it exited while we read
        pid = int(stat.parent.name)
        rows[pid] = ProcRow(pid, ppid, comm, cpu, title)
    return rows


def read_cpu_line() -> tuple[int, int]:
    return parse_cpu_line(Path("/proc/stat").read_text())


# ---------------------------------------------------------------- PostgreSQL counters


@dataclass(frozen=True)
class PgCounters:
    statements: int | None  # pg_stat_statements' calls, when that extension is loaded
    xact_commit: int
    tup_inserted: int
    tup_updated: int
    tup_deleted: int


def fresh_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.Error:
        pass  # not installed: pg_stat_database's counters only
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_pg_counters(database: str) -> PgCounters:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database "
            "WHERE datname = %s",
            (database,),
        ).fetchone()
    assert row is not None, database
    return PgCounters(_statements(database), *(int(v) for v in row))


def _statements(database: str) -> int | None:
    """Statements run in `database`, if pg_stat_statements is in shared_preload_libraries."""
    try:
        with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}", autocommit=True) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d "
                "ON d.oid = s.dbid WHERE d.datname = %s AND s.query NOT LIKE %s",
                (database, f"%{WATCH_MARK}%"),
            ).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def pg_per_run(before: PgCounters, after: PgCounters, runs: int, own_xacts: int) -> dict[str, float]:
    n = max(runs, 1)
    per = {
        "xacts": (after.xact_commit - before.xact_commit - own_xacts) / n,
        "inserted": (after.tup_inserted - before.tup_inserted) / n,
        "updated": (after.tup_updated - before.tup_updated) / n,
    }
    if before.statements is not None and after.statements is not None:
        per["statements"] = (after.statements - before.statements) / n
    return per
