"""The pure parts of benchmarks/peer_compare.py and benchmarks/accounting.py: /proc parsing, CPU
accounting, PostgreSQL work per run, the table."""

from __future__ import annotations

from benchmarks.accounting import (
    TICKS,
    CpuLedger,
    PgCounters,
    ProcRow,
    Roles,
    is_our_postgres,
    parse_cpu_line,
    parse_pid_stat,
    pg_per_run,
)
from benchmarks.peer_figures import Measurement, format_tables, spread


def test_a_pid_stat_line_gives_name_parent_and_cpu_even_with_parentheses_in_the_name() -> None:
    fields = ["S", "41"] + ["0"] * 9 + [str(3 * TICKS), str(TICKS), "7", "7"] + ["0"] * 30
    comm, ppid, cpu = parse_pid_stat(f"1234 (uvicorn (worker) 2) {' '.join(fields)}")
    assert (comm, ppid, cpu) == ("uvicorn (worker) 2", 41, 4.0)


def test_the_cpu_line_gives_total_and_steal_ticks() -> None:
    text = "cpu  100 5 50 800 10 0 5 30 0 0\ncpu0 50 2 25 400 5 0 2 15 0 0\n"
    assert parse_cpu_line(text) == (1000, 30)


def test_only_backends_of_the_measured_database_and_the_servers_own_processes_count() -> None:
    assert is_our_postgres("postgres: 15/main: postgres bench_db 127.0.0.1(5050) idle ", "bench_db")
    assert not is_our_postgres("postgres: 15/main: postgres other 127.0.0.1(5051) idle ", "bench_db")
    assert not is_our_postgres("postgres: 15/main: postgres bench_db_2 [local] idle ", "bench_db")
    assert is_our_postgres("postgres: 15/main: walwriter ", "bench_db")


def _rows(*rows: ProcRow) -> dict[int, ProcRow]:
    return {row.pid: row for row in rows}


def test_the_ledger_counts_a_process_tree_new_children_and_exited_ones_by_group() -> None:
    roles = Roles(runtime=(10,), model=(20,), database="bench", loadgen=99)
    ledger = CpuLedger(roles)
    ledger.start(
        _rows(
            ProcRow(10, 1, "uvicorn", 1.0),
            ProcRow(11, 10, "python", 5.0),  # a worker
            ProcRow(20, 99, "python", 2.0),
            ProcRow(30, 1, "postgres", 9.0, "postgres: 15/main: postgres bench 127.0.0.1(1) idle "),
            ProcRow(31, 1, "postgres", 9.0, "postgres: 15/main: postgres other 127.0.0.1(2) idle "),
            ProcRow(40, 1, "redis-server", 1.0),
            ProcRow(99, 1, "python", 0.5),
        )
    )
    ledger.observe(
        _rows(
            ProcRow(10, 1, "uvicorn", 1.5),
            ProcRow(11, 10, "python", 6.0),
            ProcRow(12, 11, "python", 0.25),  # started during the window: counts from zero
            ProcRow(20, 99, "python", 2.5),
            ProcRow(30, 1, "postgres", 9.5, "postgres: 15/main: postgres bench 127.0.0.1(1) idle "),
            ProcRow(31, 1, "postgres", 20.0, "postgres: 15/main: postgres other 127.0.0.1(2) idle "),
            ProcRow(32, 1, "postgres", 1.0, "postgres: 15/main: postgres bench 127.0.0.1(3) idle "),
            ProcRow(40, 1, "redis-server", 1.25),
            ProcRow(99, 1, "python", 1.0),
        )
    )
    ledger.observe(_rows(ProcRow(10, 1, "uvicorn", 2.0)))  # the rest exited: last values kept
    assert ledger.totals() == {
        "runtime": 1.0 + 1.0 + 0.25,
        "postgres": 0.5 + 1.0,
        "redis": 0.25,
        "model": 0.5,
        "loadgen": 0.5,
    }


def test_postgres_work_per_run_takes_the_watchers_own_commits_out() -> None:
    before = PgCounters(None, 100, 10, 5, 0)
    after = PgCounters(None, 150, 50, 25, 0)
    assert pg_per_run(before, after, 10, own_xacts=10) == {"xacts": 4.0, "inserted": 4.0, "updated": 2.0}
    with_statements = pg_per_run(PgCounters(1, 0, 0, 0, 0), PgCounters(81, 0, 0, 0, 0), 10, 0)
    assert with_statements["statements"] == 8.0


def _measurement(config: str, throughput: float) -> Measurement:
    cpu = {"runtime": 10.0, "postgres": 5.0, "redis": 1.0, "model": 2.0, "loadgen": 0.5}
    pg = {"xacts": 7.0, "inserted": 20.0, "updated": 6.0}
    return Measurement(
        config, 100, 100, 0, 3, throughput, 1.0, 2.0, 45.0, 1.5, cpu, pg, 0.5, (1.0, 2.0), 9.0, 60.0
    )


def test_the_table_shows_min_median_max_per_configuration() -> None:
    assert spread([3.0, 1.0, 2.0], ".1f") == "1.0 / 2.0 / 3.0"
    assert spread([1.0], ".1f") == "1.0"
    results = {"serve": [_measurement("serve", t) for t in (12.0, 11.9, 12.2)]}
    headline, detail = format_tables(results, 1000).split("\n\n")
    header, rule, row = headline.splitlines()
    assert header.startswith("| 1,000 concurrent runs (min / median / max) | throughput, runs/s |")
    assert rule.count("---|") == header.count("|") - 1
    assert row.startswith("| Switchboard `serve` (embedded default) | 11.9 / 12.0 / 12.2 |")
    assert "| 16.0 / 16.0 / 16.0 |" in row  # runtime + PostgreSQL + Redis
    assert "PG statements/run" not in detail  # not measured: commits and rows only
    assert detail.splitlines()[2].startswith(
        "| Switchboard `serve` (embedded default) | 10.0 / 10.0 / 10.0 |"
    )
