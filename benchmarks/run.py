"""Benchmarks: capitulation's vectorised kernels against the library a user would otherwise pick.

Run with `make bench`. Prints one table: time per call for each implementation and the speed-up ratio.
Inputs are synthetic grids (labelled so); timings depend on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import QuantLib as ql  # noqa: N813 - the library's own convention

from capitulation.analytics import black76


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Best wall time of `repeat` runs, seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def grid(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A synthetic option grid: strikes 0.5F..2F, 1 day..1 year, vols 20 %..150 %."""
    rng = np.random.default_rng(seed)
    F = np.full(n, 90_000.0)
    K = F * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    t = rng.uniform(1 / 365, 1.0, n)
    vol = rng.uniform(0.2, 1.5, n)
    is_call = K >= F
    return F, K, t, vol, is_call


def main() -> None:
    n = 20_000
    F, K, t, vol, is_call = grid(n)
    prices = black76.price(F, K, t, vol, is_call)
    kinds = [ql.Option.Call if c else ql.Option.Put for c in is_call]
    sd = vol * np.sqrt(t)

    def ql_price() -> list[float]:
        return [ql.blackFormula(k, float(s), float(f), float(d)) for k, s, f, d in zip(kinds, K, F, sd, strict=True)]

    def ql_iv() -> list[float]:
        return [
            ql.blackFormulaImpliedStdDev(k, float(s), float(f), float(p), 1.0, 0.0, float(d0), 1e-12, 100)
            for k, s, f, p, d0 in zip(kinds, K, F, prices, np.full(n, 0.5), strict=True)
        ]

    rows = [
        ("Black-76 price", lambda: black76.price(F, K, t, vol, is_call), ql_price),
        ("Black-76 implied vol", lambda: black76.implied_vol(prices, F, K, t, is_call), ql_iv),
    ]
    print(f"{n:,} options (synthetic grid); best of 5 runs")
    print(f"{'kernel':<24}{'capitulation (ms)':>20}{'QuantLib loop (ms)':>20}{'ratio':>10}")
    for name, ours, theirs in rows:
        a, b = best_of(ours), best_of(theirs, repeat=2)
        print(f"{name:<24}{a * 1e3:>20.2f}{b * 1e3:>20.2f}{b / a:>9.1f}x")


if __name__ == "__main__":
    main()
