"""What a user waits for per command, in CPU seconds of the whole process (user + system, median of 3 runs):
`capitulation report` on the recorded data, stored into a history store as by default, warm (an earlier
run's report document and parsed tables cached, the numba cache on disk), with only the parsed tables
cached (the report computed: another as_of, or the first run after a change), and with `--no-cache`; where
a computed run's CPU goes; `--version` / `--help` / `report --help`; and every other data command warm.

Goal (issue 15): report warm at or under 1.0 CPU-s; every command's start (its help) well under it.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
GOAL_CPU_S = 1.0
RUNS = 3
START_ARGS = (["--version"], ["--help"], ["report", "--help"])
DATA_COMMANDS = ("levels", "options", "leverage", "events", "crossasset", "sectors", "hedge", "mnav", "mining")
"""Every other command that reads the recorded data, timed warm (its document kept by an earlier run)."""

_PHASES = """
import time, sys
c = time.process_time
t = c(); import capitulation.cli.report, capitulation.report.model, capitulation.report.terminal, capitulation.store
imports = c() - t
from capitulation.sources.cache import TableCache
from capitulation.sources.recorded import load_tables, snapshot_of
t = c(); found = load_tables(sys.argv[1], cache=TableCache()); load = c() - t
t = c(); snap = snapshot_of(found); cut = c() - t
from capitulation.report import model
t = c(); model.build(snap); signals = c() - t
print(imports, load, cut, signals)
"""


def cpu_of(args: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one `capitulation` process (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "capitulation", *args], env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report_cpu() -> tuple[float, float]:
    """Median CPU-s of `report` warm and with `--no-cache` (a fresh cache folder and history store, filled by
    one run first), and of `report` with only the parsed tables cached (its document entries removed before
    each run)."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        args = ["report", "--data", str(DATA), "--db", str(Path(tmp) / "history")]
        env = {**os.environ, "CAPITULATION_CACHE_DIR": str(cache)}
        cpu_of(args, env)  # fills the caches (and numba's) and the store
        warm = statistics.median(cpu_of(args, env) for _ in range(RUNS))

        def computed() -> float:
            for entry in cache.glob("*/_report-*"):
                shutil.rmtree(entry)
            return cpu_of(args, env)

        tables = statistics.median(computed() for _ in range(RUNS))
        cold = statistics.median(cpu_of([*args, "--no-cache"], env) for _ in range(RUNS))
        phases = subprocess.run(
            [sys.executable, "-c", _PHASES, str(DATA)], env=env, check=True, capture_output=True, text=True
        ).stdout.split()
        starts = {" ".join(a): statistics.median(cpu_of(a, env) for _ in range(RUNS)) for a in START_ARGS}
        others = {}
        for name in DATA_COMMANDS:
            cpu_of([name, "--data", str(DATA)], env)  # computes and keeps its document
            others[name] = statistics.median(cpu_of([name, "--data", str(DATA)], env) for _ in range(RUNS))
    imports, load, cut, signals = (float(x) for x in phases)
    print(f"\nreport on {DATA.name}/ (CPU seconds of the whole process, median of {RUNS}; goal warm <= {GOAL_CPU_S})")
    print(
        f"  warm (report document and parsed tables cached): {warm:.2f} CPU-s;  parsed tables cached, report"
        f" computed: {tables:.2f} CPU-s;  --no-cache: {cold:.2f} CPU-s"
    )
    print(
        f"  where a computed run goes: imports {imports:.2f} s (pandas, numba, scipy.special, duckdb), tables from"
        f" the cache {load:.2f} s, validate + cut {cut:.2f} s, eight signals {signals:.2f} s"
    )
    print("  start of a command: " + ", ".join(f"`{a}` {cpu:.2f} CPU-s" for a, cpu in starts.items()))
    print("  every other data command, warm: " + ", ".join(f"{c} {cpu:.2f}" for c, cpu in others.items()) + " CPU-s")
    print(f"  slowest warm data command: {max(others.values()):.2f} CPU-s (goal: under {GOAL_CPU_S} CPU-s)")
    return warm, cold


def main() -> tuple[float, float]:
    return report_cpu()


if __name__ == "__main__":
    main()
