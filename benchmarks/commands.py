"""What a user waits for per command: `capitulation report` on the recorded data, warm (the parsed-table
cache filled by an earlier run, the numba cache on disk) against `--no-cache`, in CPU seconds of the whole
process (user + system, median of 3 runs), and where a warm run's CPU goes.

Goal (issue 15): report warm at or under 1.0 CPU-s.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
GOAL_CPU_S = 1.0
RUNS = 3

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
    """Median CPU-s of `report` warm and with `--no-cache` (a fresh cache folder, filled by one run first)."""
    args = ["report", "--data", str(DATA), "--no-store", "--json"]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CAPITULATION_CACHE_DIR": cache}
        cpu_of(args, env)  # fills the cache (and numba's)
        warm = statistics.median(cpu_of(args, env) for _ in range(RUNS))
        cold = statistics.median(cpu_of([*args, "--no-cache"], env) for _ in range(RUNS))
        phases = subprocess.run(
            [sys.executable, "-c", _PHASES, str(DATA)], env=env, check=True, capture_output=True, text=True
        ).stdout.split()
    imports, load, cut, signals = (float(x) for x in phases)
    print(f"\nreport on {DATA.name}/ (CPU seconds of the whole process, median of {RUNS}; goal warm <= {GOAL_CPU_S})")
    print(f"  warm (parsed-table cache): {warm:.2f} CPU-s;  --no-cache: {cold:.2f} CPU-s;  ratio {cold / warm:.1f}x")
    print(
        f"  where a warm run goes: imports {imports:.2f} s (pandas, numba, scipy.special, duckdb), tables from the"
        f" cache {load:.2f} s, validate + cut {cut:.2f} s, eight signals {signals:.2f} s"
    )
    return warm, cold


def main() -> tuple[float, float]:
    return report_cpu()


if __name__ == "__main__":
    main()
