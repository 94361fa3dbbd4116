"""Benchmark: seconds from launching `capitulation dashboard` to its first HTTP 200 on `/`, and to the first
page's content (the overview callback answered: the eight verdicts and the levels map), median of 3 launches.

Each launch is a new process (imports, loading the recorded data in ../shared/data through the parsed-table
cache, filled by one uncounted launch first, building the app) with a fresh empty history store on a free
loopback port; `/` is polled every 20 ms. The goal (issue 15): first 200
under 2 s. Also part of `benchmarks/run.py` (`first_200_seconds`).

Run: `.venv/bin/python benchmarks/dashboard.py [--snapshot PATH]`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
GOAL_S = 2.0  # first HTTP 200 after launch
TIMEOUT_S = 180.0  # a dashboard that does not answer by then is broken, not slow
POLL_S = 0.02
OVERVIEW = {  # the page callback the browser sends for "/" (Dash's update-component request)
    "output": "page.children",
    "outputs": {"id": "page", "property": "children"},
    "inputs": [
        {"id": "url", "property": "pathname", "value": "/"},
        {"id": "version", "property": "data"},
        {"id": "as-of", "property": "date"},
    ],
    "changedPropIds": ["url.pathname"],
    "state": [],
}


@dataclass(frozen=True)
class Launch:
    first_200_s: float  # launch to the first 200 on `/`
    overview_s: float  # launch to the overview page's content


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str, body: dict[str, object] | None = None) -> int | None:
    """The HTTP status of a GET (or a JSON POST with `body`), None while nothing listens."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as res:
            res.read()
            return res.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def launch(data: Path | None = DATA, snapshot: Path | None = None, env: dict[str, str] | None = None) -> Launch:
    """Start one dashboard process, time its first 200 on `/` and its first overview page, stop it."""
    port = _free_port()
    source = ["--snapshot", str(snapshot)] if snapshot is not None else ["--data", str(data)]
    with tempfile.TemporaryDirectory() as db:
        cmd = [sys.executable, "-m", "capitulation", "dashboard", *source, "--db", db, "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            while (code := _status(url + "/")) != 200:
                if proc.poll() is not None or time.perf_counter() - t0 > TIMEOUT_S:
                    raise RuntimeError(f"dashboard did not answer (HTTP {code}): {proc.stderr.read()[-2000:]}")
                time.sleep(POLL_S)
            first = time.perf_counter() - t0
            code = _status(url + "/_dash-update-component", OVERVIEW)
            if code != 200:
                raise RuntimeError(f"the overview callback answered HTTP {code}")
            return Launch(first, time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def first_200_seconds(data: Path | None = DATA, snapshot: Path | None = None, runs: int = 3) -> tuple[float, float]:
    """Median seconds, over `runs` launches, from launch to the first HTTP 200 and to the overview's content
    (a temporary parsed-table cache, filled by one launch that is not counted)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CAPITULATION_CACHE_DIR": cache}
        launch(data, snapshot, env)
        got = [launch(data, snapshot, env) for _ in range(runs)]
    return statistics.median(x.first_200_s for x in got), statistics.median(x.overview_s for x in got)


def main(snapshot: Path | None = None) -> None:
    first, overview = first_200_seconds(snapshot=snapshot)
    what = f"--snapshot {snapshot}" if snapshot is not None else f"--data {DATA}"
    print(f"\nDashboard start-up, `capitulation dashboard {what}` (median of 3 launches)")
    print(f"  first HTTP 200 on /: {first:6.2f} s   (goal: under {GOAL_S:.0f} s)")
    print(f"  overview page ready: {overview:6.2f} s   (the eight verdicts and the levels map)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, help="a saved snapshot folder instead of the recorded data")
    main(parser.parse_args().snapshot)
