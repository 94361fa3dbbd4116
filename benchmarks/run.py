"""Benchmarks: capitulation's Black-76 kernel against the libraries a user would otherwise pick.

Run with `make bench`. Prints the machine, then one table per measurement: implied vol for 10k and 1M options
(every library on one thread first, then ours on numba's threads), greeks for 1M options, a real recorded Deribit
chain, the numba compile / cache-load time, and the wall-clock goals the test suite does not assert (a live
snapshot's concurrency). Synthetic quotes are labelled so; timings depend on the machine and on what else runs on
it (best of several runs, more of them when the load average is above 2; wall and CPU time).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from commands import GOAL_CPU_S
from commands import main as commands_table
from peers import GREEKS_SAMPLE, PEERS, capitulation_greeks, capitulation_iv
from signals_per_date import main as signals_table

from backfill import main as backfill_table
from backtest import main as backtest_table
from capitulation.analytics import black76, gex
from capitulation.sources.deribit import read_chain_csv
from dashboard import GOAL_S as DASHBOARD_GOAL_S
from dashboard import first_200_seconds

F0 = 60_000.0
CHAIN = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deribit_options" / "sample.csv"
CHAIN_TIME = "2026-03-05T19:52:00Z"
REPRICE_FAIL = 1e-8  # a returned vol whose re-price misses the quote by more than this (relative) is a failure
WELL_CONDITIONED = 1e4  # premium / (vol x vega) at most this: quote rounding moves the vol by < 1e-12
BUSY_LOAD = 2.0  # load average above which timings are repeated more (the machine is shared)
THREADS = numba.config.NUMBA_NUM_THREADS  # numba's threads for the threaded rows (all cores unless NUMBA_NUM_THREADS)


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time (this process, all threads) of `repeat` runs, seconds."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def repeats(n: int) -> int:
    """n runs, three times as many while the machine is busy (load average above 2): best-of needs quiet ones."""
    return n if os.getloadavg()[0] <= BUSY_LOAD else 3 * n


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    load = os.getloadavg()[0]
    return (
        f"Machine: {cpu} ({numba.config.CPU_NAME or 'host'}), {os.cpu_count()} cores; numba {numba.__version__} "
        f"with {numba.get_num_threads()} threads; load average {load:.2f} when started"
    )


def quotes(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic Black-76 quotes: F = 60k, strikes 0.5F..2F (log-uniform), expiries 1 day..1 year, vols
    20 %..150 %, calls and puts; 5 % are deep out-of-the-money (strike 0.5F..0.6F puts, 1.7F..2F calls) with
    1..3 days left at 20..60 vol, down to premiums that underflow to 0. Premiums from capitulation's Black-76
    (which agrees with 60-digit references to 1e-13 relative and with QuantLib to 1e-14 F)."""
    rng = np.random.default_rng(seed)
    K = F0 * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    t = rng.uniform(1 / 365, 1.0, n)
    vol = rng.uniform(0.2, 1.5, n)
    call = rng.random(n) < 0.5
    deep = rng.random(n) < 0.05
    up = rng.random(n) < 0.5
    K[deep] = np.where(up, rng.uniform(1.7, 2.0, n), rng.uniform(0.5, 0.6, n))[deep] * F0
    call[deep] = up[deep]
    t[deep] = rng.uniform(1 / 365, 3 / 365, deep.sum())
    vol[deep] = rng.uniform(0.2, 0.6, deep.sum())
    F = np.full(n, F0)
    return {"p": black76.price(F, K, t, vol, call), "F": F, "K": K, "t": t, "vol": vol, "call": call}


def _fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def _fmt_value(x: float) -> str:
    return "NaN" if math.isnan(x) else f"{x:.4g}"


def _ill_posed(iv: Callable[..., np.ndarray]) -> tuple[str, str]:
    """What the library returns for a quote with no time value (a 50k call on F = 60k at its intrinsic 10k)
    and for an underflowed one (a 2F call, 1 day, quoted 0.0: its Black price at 20 vol is ~1e-700)."""
    out = []
    for p, K, t in ((10_000.0, 50_000.0, 30 / 365), (0.0, 120_000.0, 1 / 365)):
        a = [np.array([x]) for x in (p, F0, K, t)]
        try:
            out.append(_fmt_value(float(iv(*a, np.array([True]))[0])))
        except Exception as e:  # a peer may raise anything; the table says what
            out.append(f"raises {type(e).__name__}")
    return out[0], out[1]


@dataclass(frozen=True)
class IvRatios:
    """capitulation's implied-vol rate over each peer's, thread-matched (1 thread each) and with numba's threads."""

    matched: dict[str, float]  # peer -> ratio of wall-clock rates, capitulation on 1 numba thread
    matched_cpu: dict[str, float]  # the same by CPU time (steadier on a shared machine)
    threaded: dict[str, float]  # peer -> ratio of wall-clock rates, capitulation on THREADS numba threads

    def fastest(self, which: dict[str, float]) -> float:
        return min(which.values(), default=math.nan)


def iv_table(n: int) -> IvRatios:
    """Print the implied-vol table for n options, thread-matched first, then capitulation's threaded row.

    Threading: every peer computes on one thread whatever the setting (lbriv: a Cython loop without prange;
    vanilla-option-pricers: numba @njit without parallel; py_vollib_vectorized: numba @jit without parallel;
    QuantLib: a Python loop), so only numba's thread count (`numba.set_num_threads`) changes between the rows.
    """
    q = quotes(n)
    args = (q["p"], q["F"], q["K"], q["t"], q["call"])
    intrinsic = np.where(q["call"], np.maximum(q["F"] - q["K"], 0), np.maximum(q["K"] - q["F"], 0))
    has_tv = q["p"] > intrinsic
    vega = black76.vega(q["F"], q["K"], q["t"], q["vol"])
    well = has_tv & (q["p"] >= np.finfo(float).tiny) & (q["p"] <= WELL_CONDITIONED * q["vol"] * vega)
    big = n >= 1_000_000
    repeat = repeats(2 if big else 5)
    rows = []
    numba.set_num_threads(1)
    for name, (make_iv, _, sample) in {"capitulation": (lambda: capitulation_iv, None, None), **PEERS}.items():
        try:
            fn = make_iv()
            m = n if (sample is None or not big) else sample
            a = tuple(x[:m] for x in args)
            fn(*(x[:10] for x in args))  # warm-up (numba compilation)
            secs, cpu = best_of(lambda fn=fn, a=a: fn(*a), repeat)
            iv = np.asarray(fn(*a), dtype=float)
        except Exception as e:  # a peer may fail to import or run: say why in its row
            rows.append((name, None, f"fails: {type(e).__name__}: {str(e).splitlines()[0][:90]}"))
            continue
        err = np.abs(iv / q["vol"][:m] - 1)[well[:m]]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            repriced = black76.price(q["F"][:m], q["K"][:m], q["t"][:m], iv, q["call"][:m])
            miss = ~(np.abs(repriced / q["p"][:m] - 1) <= REPRICE_FAIL)
        fails = int((miss & has_tv[:m]).sum())
        note = f" ({m // 1000}k sample, rate extrapolated)" if m < n else ""
        stats = (m / secs, m / cpu, np.nanmax(err) if err.size else np.nan, np.nanpercentile(err, 99), fails)
        rows.append((name, stats, " / ".join(_ill_posed(fn)) + note))
    numba.set_num_threads(THREADS)
    threaded_secs, threaded_cpu = best_of(lambda: capitulation_iv(*args), repeat)
    peers = {name: stats for name, stats, _ in rows[1:] if stats is not None}
    fastest = max((st[0] for st in peers.values()), default=math.nan)
    fastest_cpu = max((st[1] for st in peers.values()), default=math.nan)
    print(
        f"\nImplied vol, {n:,} synthetic options ({has_tv.sum():,} with a time value, {well.sum():,} well-conditioned);"
        f" best of {repeat}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'thread-matched (1 thread)':<26}{'options/s':>10}{'CPU ns/opt':>11}{'vs fastest':>11}{'(by CPU)':>9}"
        f"{'max err':>9}{'p99 err':>9}{'failures':>9}   returns for: no time value / underflowed 0 quote"
    )
    for name, stats, text in rows:
        if stats is None:
            print(f"{name:<26}{text}")
            continue
        rate, cpu_rate, mx, p99, fails = stats
        print(
            f"{name:<26}{_fmt_rate(rate):>10}{1e9 / cpu_rate:>11.0f}{rate / fastest:>10.2f}x"
            f"{cpu_rate / fastest_cpu:>8.2f}x{mx:>9.1e}{p99:>9.1e}{fails:>9,}   {text}"
        )
    serial = " (below the threading crossover: one thread)" if n < black76.PARALLEL_MIN_IV else ""
    print(
        f"{f'capitulation, {THREADS} threads':<26}{_fmt_rate(n / threaded_secs):>10}{1e9 * threaded_cpu / n:>11.0f}"
        f"{n / threaded_secs / fastest:>10.2f}x{'':>9}   against the same single-threaded peers{serial}"
    )
    print(
        f"  err = |iv/vol - 1| on well-conditioned quotes (normal premium <= {WELL_CONDITIONED:.0e} x vol x vega);"
        f" failures = quotes with a time value and no vol, or one re-pricing off by > {REPRICE_FAIL:.0e}."
        "\n  Peers run on one thread at any setting (lbriv: Cython loop; vanilla-option-pricers and"
        " py_vollib_vectorized: numba without parallel; QuantLib: Python loop); numba.set_num_threads sets ours."
    )
    if rows[0][1] is None:
        return IvRatios({}, {}, {})
    (ours, ours_cpu), threaded = rows[0][1][:2], n / threaded_secs
    return IvRatios(
        {p: ours / st[0] for p, st in peers.items()},
        {p: ours_cpu / st[1] for p, st in peers.items()},
        {p: threaded / st[0] for p, st in peers.items()},
    )


def greeks_table(n: int) -> float:
    """Print delta, gamma, vega, theta (vanna) for n options; return capitulation's time in seconds."""
    q = quotes(n, seed=1)
    args = (q["F"], q["K"], q["t"], q["vol"], q["call"])
    ours = capitulation_greeks(*args)
    rows = []
    for name, (_, make_greeks, _) in {"capitulation": (None, lambda: capitulation_greeks, None), **PEERS}.items():
        try:
            fn = make_greeks()
            m = GREEKS_SAMPLE.get(name, n)
            a = tuple(x[:m] for x in args)
            fn(*(x[:10] for x in args))  # compile
            secs = best_of(lambda fn=fn, a=a: fn(*a), 5 if m == n else 1)[0]  # the first runs also warm the allocator
            out = fn(*a)
        except Exception as e:
            rows.append((name, None, f"fails: {type(e).__name__}: {str(e).splitlines()[0][:90]}"))
            continue
        delta_diff = float(np.nanmax(np.abs(np.asarray(out[0]) - ours[0][:m])))
        note = f"{len(out)} greeks" + (f"; {m // 1000}k sample, time extrapolated" if m < n else "")
        rows.append((name, (secs * n / m, delta_diff), note))
    peers = [r[1][0] for r in rows[1:] if r[1] is not None]
    fastest = min(peers) if peers else math.nan
    print(f"\nGreeks, {n:,} synthetic options (capitulation: delta, gamma, vega, theta, vanna, volga, charm)")
    print(f"{'library':<24}{'ms':>10}{'options/s':>11}{'vs fastest peer':>17}{'max |delta - ours|':>20}   computes")
    for name, stats, text in rows:
        if stats is None:
            print(f"{name:<24}{text}")
            continue
        secs, dd = stats
        print(f"{name:<24}{secs * 1e3:>10.1f}{_fmt_rate(n / secs):>11}{fastest / secs:>16.2f}x{dd:>20.1e}   {text}")
    return rows[0][1][0]


def chain() -> float:
    """Print IV + greeks timing on the recorded Deribit chain; return the time in seconds."""
    df, _ = read_chain_csv(CHAIN, timestamp=CHAIN_TIME)
    t = ((df["expiry"] - df["timestamp"]).dt.total_seconds() / (365 * 86400)).to_numpy()
    F, K = df["underlying_price"].to_numpy(), df["strike"].to_numpy()
    p, call = df["mark_usd"].to_numpy(), (df["option_type"] == "C").to_numpy()

    def run() -> tuple[np.ndarray, np.ndarray, black76.Greeks]:
        iv, reason = black76.implied_vol_with_reason(p, F, K, t, call)
        return iv, reason, black76.greeks(F, K, t, iv, call)

    run()
    secs = best_of(run, 300)[0]
    iv, reason, _ = run()
    dev = np.abs(iv - df["mark_iv"].to_numpy()) * 100
    codes, counts = np.unique(reason, return_counts=True)
    reasons = ", ".join(f"{black76.IvReason(r).name} {c}" for r, c in zip(codes, counts, strict=True))
    print(f"\nReal chain: {CHAIN.name} at {CHAIN_TIME}, {len(df):,} Deribit BTC options (mark premiums in USD)")
    print(f"  IV + 7 greeks after warm-up: {secs * 1e3:.3f} ms (best of 300); reasons: {reasons}")
    print(f"  IV vs the venue's mark_iv: max |diff| {np.nanmax(dev):.1e} vol points (premiums were priced from it)")
    return secs


def gex_profile_time() -> float:
    """Print the time of a 200-point GEX profile on the recorded chain, sticky strike and sticky delta."""
    df, _ = read_chain_csv(CHAIN, timestamp=CHAIN_TIME)
    s0 = gex.reference_spot(df)
    grid = s0 * np.linspace(0.8, 1.2, 200)
    out = {}
    for sticky in ("strike", "delta"):
        gex.gex_profile(df, grid, sticky=sticky)
        out[sticky] = best_of(lambda sticky=sticky: gex.gex_profile(df, grid, sticky=sticky), 20)[0]
    print(
        f"\nGEX profile, 200 spots x {len(df):,} options: sticky strike {out['strike'] * 1e3:.1f} ms,"
        f" sticky delta {out['delta'] * 1e3:.1f} ms (best of 20)"
    )
    return out["strike"]


_COMPILE_SCRIPT = """
import time
t0 = time.perf_counter()
import numpy as np
from capitulation.analytics import black76
for threshold in (10**9, 1):  # the serial kernels, then the threaded ones
    black76.PARALLEL_MIN = black76.PARALLEL_MIN_IV = threshold
    k = np.linspace(50_000.0, 70_000.0, 100)
    p = black76.price(60_000.0, k, 0.1, 0.6, True)
    black76.implied_vol_with_reason(p, 60_000.0, k, 0.1, True)
    black76.greeks(60_000.0, k, 0.1, 0.6, True)
print(time.perf_counter() - t0)
"""


def compile_time() -> None:
    """Import + first calls of every kernel in fresh processes: with an empty numba cache, then cached."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold, warm = (
            float(
                subprocess.run(
                    [sys.executable, "-c", _COMPILE_SCRIPT], env=env, check=True, capture_output=True, text=True
                ).stdout
            )
            for _ in range(2)
        )
    print(f"\nnumba: import + first call of every kernel (serial and threaded) in a new process: {cold:.1f} s")
    print(f"  compiling (empty cache), {warm:.2f} s loading the on-disk cache (every later CLI run)")


def live_concurrency() -> float:
    """Print the wall time of a live snapshot of three SYNTHETIC sources that sleep 0.4, 0.3 and 0.3 s (standing in
    for network time; `tests/sources/test_live.py` proves they run at once); return it in seconds."""
    from capitulation import tables
    from capitulation.snapshot import Provenance
    from capitulation.sources import live

    prov = Provenance("synthetic benchmark fetcher", "2026-11-25T12:00Z", synthetic=True)
    values = {"time": pd.Timestamp("2026-11-24", tz="UTC"), "str": "SYNTHETIC", "float": 1.0, "int": 1}

    def source(name: str, seconds: float) -> live.Fetcher:
        def fetch() -> tuple[pd.DataFrame, Provenance]:
            time.sleep(seconds)
            return pd.DataFrame({c.name: [values[c.kind]] for c in tables.spec(name).columns}), prov

        return fetch

    sources = {"btc_network": 0.4, "etf_flows": 0.3, "vol_index": 0.3}
    secs = best_of(lambda: live.live_snapshot({n: source(n, s) for n, s in sources.items()}, "2026-11-25"), 3)[0]
    print(f"\nLive snapshot, 3 synthetic sources of 0.4, 0.3, 0.3 s: {secs:.2f} s (goal: about the slowest, < 0.7 s)")
    return secs


def main() -> None:
    print(machine())
    iv_table(10_000)
    iv = iv_table(1_000_000)
    g = greeks_table(1_000_000)
    c = chain()
    gp = gex_profile_time()
    compile_time()
    live = live_concurrency()
    backfill_table()
    signals_table()
    backtest_table()
    warm, cold = commands_table()
    first, overview = first_200_seconds()
    print(f"\nDashboard: first HTTP 200 {first:.2f} s after launch, overview page ready {overview:.2f} s (median of 3)")
    print(f"\nGoals: report warm <= {GOAL_CPU_S:.1f} CPU-s: {warm:.2f} CPU-s ({cold:.2f} with --no-cache)")
    print(f"Dashboard first HTTP 200 < {DASHBOARD_GOAL_S:.0f} s: {first:.2f} s")
    print("Implied vol for 1M options >= 2x the fastest peer, thread-matched:")
    labels = ("thread-matched, wall", "thread-matched, CPU", f"ours on {THREADS} threads, wall")
    for label, ratios in zip(labels, (iv.matched, iv.matched_cpu, iv.threaded), strict=True):
        named = ", ".join(f"{ratios[p]:.2f}x {p}" for p in ("vanilla-option-pricers", "lbriv") if p in ratios)
        print(f"  {label}: {iv.fastest(ratios):.2f}x the fastest peer ({named})")
    print(
        f"  greeks for 1M <= 35 ms: {g * 1e3:.1f} ms; chain IV + greeks < 0.3 ms: {c * 1e3:.3f} ms;"
        f" GEX profile (200 spots) < 10 ms: {gp * 1e3:.1f} ms; live snapshot of 0.4 + 0.3 + 0.3 s sources < 0.7 s:"
        f" {live:.2f} s"
    )


if __name__ == "__main__":
    main()
