"""Benchmark: the eight signals at one date, the work `capitulation backtest` repeats for every day of history.

Input: the recorded real data (../shared/data), parsed once. For DATES dates spread over 2019-2026 (the same
dates on every run) each signal is evaluated on the snapshot cut at that date two ways, with the same code:

* plain: a snapshot without an origin (`Snapshot(as_of, tables, ...)`), every history computed from its start
  at every date: what each date cost before histories were prepared once;
* prepared: `full.upto(date)`, the causal histories (`Snapshot.derived`) computed once on the full record and
  cut at each date; the one-time preparation is timed on its own line.

CPU seconds (`time.process_time`, numba on one thread as the backtest's workers), mean per date.
Both ways give the same verdicts (checked here; tests/test_derived.py proves it bit for bit). The year and
whole-history lines extrapolate the prepared per-date total over 2 processes (2 Dask workers, each with its
own preparation), without the cluster's start-up.

Run: `.venv/bin/python benchmarks/signals_per_date.py` (about a minute on 2 cores); also part of
`benchmarks/run.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numba
import pandas as pd

from capitulation.signals import INDEPENDENT, bottom_range
from capitulation.signals import evaluate as signals
from capitulation.snapshot import Snapshot, parse_as_of
from capitulation.sources.recorded import build_snapshot
from capitulation.verdict import Verdict

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DATES = 24
GOAL_PER_DATE = 0.15  # CPU-s: a year of days under 60 s on 2 workers, 2019-2026 under 5 minutes
WORKERS = 2
HISTORY_DAYS = 2_800  # 2019-01-01 .. 2026-08-31
REFERENCE_DAY = "2026-02-05"  # every signal decides: the preparation is timed here (first call less the second)


def sample_dates(n: int = DATES) -> list[pd.Timestamp]:
    """`n` dates evenly spread over 2019-2026, each at the end of its UTC day."""
    days = pd.date_range("2019-03-01", "2026-08-01", periods=n).normalize()
    return [parse_as_of(f"{d:%Y-%m-%d}") for d in days]


def plain(snap: Snapshot) -> Snapshot:
    """The same tables without an origin: every history is computed on the snapshot itself."""
    return Snapshot(snap.as_of, snap.tables, snap.provenance, snap.sources)


def per_signal(snaps: list[Snapshot]) -> tuple[dict[str, float], list[list[Verdict]]]:
    """Mean CPU-s per date of each signal (and of building the snapshot, 'cut'), and the verdicts."""
    cost: dict[str, float] = {m.SIGNAL: 0.0 for m in (*INDEPENDENT, bottom_range)}
    out = []
    for snap in snaps:
        verdicts = []
        for m in INDEPENDENT:
            t0 = time.process_time()
            verdicts.append(signals._guarded(m, snap, m.Thresholds()))
            cost[m.SIGNAL] += time.process_time() - t0
        t0 = time.process_time()
        verdicts.append(signals._guarded(bottom_range, snap, verdicts, bottom_range.Thresholds()))
        cost[bottom_range.SIGNAL] += time.process_time() - t0
        out.append(verdicts)
    return {k: v / len(snaps) for k, v in cost.items()}, out


def cpu(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main() -> None:
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        table()
    finally:
        numba.set_num_threads(threads)


def table() -> None:
    load, full = cpu(lambda: build_snapshot(DATA, "2100-01-01"))
    dates = sample_dates()
    signals.evaluate_all(plain(full.upto(dates[0])))  # imports, numba cache loads: not timed either way
    cut_plain, plain_snaps = cpu(lambda: [plain(full.upto(d)) for d in dates])
    slow, slow_verdicts = per_signal(plain_snaps)
    origin = plain(full)  # nothing prepared on it yet
    day = parse_as_of(REFERENCE_DAY)
    first = cpu(lambda: signals.evaluate_all(origin.upto(day)))[0]  # prepares the histories every signal reads
    prep = first - cpu(lambda: signals.evaluate_all(origin.upto(day)))[0]
    per_signal([origin.upto(d) for d in dates])  # prepares any history asked at the sample dates only
    cut, snaps = cpu(lambda: [origin.upto(d) for d in dates])
    fast, fast_verdicts = per_signal(snaps)
    same = all(
        [v.as_dict() for v in a] == [v.as_dict() for v in b] for a, b in zip(slow_verdicts, fast_verdicts, strict=True)
    )
    print(
        f"\nSignals per date: the eight verdicts at {len(dates)} dates {dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d} "
        f"on the recorded data (parsed once: {load:.1f} CPU-s); CPU-s per date, one thread"
    )
    print(f"{'step':<20}{'plain':>10}{'prepared':>10}{'speed-up':>10}")
    rows = [("Snapshot.upto", cut_plain / len(dates), cut / len(dates)), *((k, slow[k], fast[k]) for k in slow)]
    for name, a, b in rows:
        print(f"{name:<20}{a:>10.3f}{b:>10.3f}{a / b:>9.1f}x")
    total_plain, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total per date':<20}{total_plain:>10.3f}{total:>10.3f}{total_plain / total:>9.1f}x")
    print(
        f"  one-time preparation of the histories on the full record: {prep:.1f} CPU-s (the first evaluation at "
        f"{REFERENCE_DAY} less the second); verdicts equal both ways: {same}"
    )
    year = prep + 365 * total / WORKERS
    history = prep + HISTORY_DAYS * total / WORKERS
    print(
        f"  estimate on {WORKERS} workers (each prepares once): a year of daily dates {year:.0f} s (goal 60 s), "
        f"2019-2026 ({HISTORY_DAYS:,} days) {history / 60:.1f} min (goal 5 min)"
    )
    print(f"Goal: per-date total <= {GOAL_PER_DATE} CPU-s: {total:.3f} CPU-s")


if __name__ == "__main__":
    main()
