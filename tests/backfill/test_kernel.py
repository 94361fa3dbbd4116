"""The backfill kernels redo, bit for bit, the pandas and numpy steps of the `options` analytics: numpy's sum,
median and interpolation, pandas' group sums, the old pandas snapshot selection, and `gamma_profile`'s nearest
zero crossing of the GEX profile (found from a few grid spots instead of all 201)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from capitulation.analytics import gex
from capitulation.analytics._black76_kernel import dollar_gamma_profile
from capitulation.backfill import _kernel
from capitulation.backfill.run import GRID

wide = st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)


def same(a: float, b: float) -> bool:
    """Equal as floats, NaN equal to NaN."""
    return a == b or (np.isnan(a) and np.isnan(b))


@given(hnp.arrays(np.float64, st.integers(0, 700), elements=wide))
def test_pairwise_sum_is_numpys_sum(a):
    assert _kernel.pairwise_sum(a) == np.sum(a)


def test_pairwise_sum_is_numpys_sum_on_heavy_tails_of_every_length():
    rng = np.random.default_rng(7)
    for n in range(0, 1100, 7):
        a = rng.standard_cauchy(n) * 10.0 ** rng.integers(-6, 9, n)
        assert _kernel.pairwise_sum(a) == np.sum(a) == pd.Series(a).sum()


@given(hnp.arrays(np.float64, st.integers(1, 40), elements=wide))
def test_median_is_numpys(a):
    assert _kernel._median(a) == np.median(a)


@given(st.lists(st.tuples(st.integers(0, 6), wide), max_size=120), st.booleans())
def test_group_sums_are_pandas_groupby_sums(rows, in_key_order):
    rows = sorted(rows, key=lambda r: r[0]) if in_key_order else rows
    keys = np.array([k for k, _ in rows], dtype=float)
    values = np.array([v for _, v in rows], dtype=float)
    sums, first = _kernel._group_sums(values, np.argsort(keys, kind="stable"), keys, True)
    ref = pd.Series(values).groupby(keys, sort=True).sum()
    assert sums.tolist() == ref.tolist() and keys[first].tolist() == ref.index.tolist()


def test_group_sums_take_the_path_pandas_takes():
    """Rows out of key order: pandas' Kahan kernel (exact here, a plain sum gives 0); rows in key order:
    numpy's reduceat, the first value plus the pairwise sum of the rest (not the nearest float here)."""
    keys, values = np.array([0.0, 1.0, 0.0, 0.0, 0.0]), np.array([1e16, 5.0, 1.0, 1.0, -1e16])
    got = _kernel._group_sums(values, np.argsort(keys, kind="stable"), keys, True)[0]
    assert got.tolist() == [2.0, 5.0] == pd.Series(values).groupby(keys).sum().tolist()
    values = np.array([1.0, -125_899_906_842_625.0, -999_999_999_999_999.875])
    got = _kernel._group_sums(values, np.arange(3), np.zeros(3), True)[0]
    assert got.tolist() == [-1_125_899_906_842_624.0] == pd.Series(values).groupby(np.zeros(3)).sum().tolist()
    assert sum(values) == -1_125_899_906_842_623.875


@given(
    hnp.arrays(np.float64, st.integers(1, 12), elements=st.sampled_from([0.0, 0.1, 0.15, 0.3, 0.5, 0.85, 0.9, 1.0])),
    hnp.arrays(np.float64, 12, elements=st.floats(0.05, 3.0)),
    st.sampled_from([0.15, 0.25, 0.5, 0.75, 0.85, 0.0, 1.0]),
)
def test_interp_is_numpys_inside_the_quoted_deltas_and_nan_outside(x, y, target):
    x = np.sort(x)
    y = y[: x.size]
    want = np.interp(target, x, y) if x[0] <= target <= x[-1] else np.nan
    assert same(_kernel._interp(target, x, y), want)


def test_a_tie_is_flagged_only_where_it_decides_the_interpolated_vol():
    x = np.array([0.1, 0.3, 0.6, 1.0, 1.0])  # two far out-of-the-money puts at call delta exactly 1.0
    assert _kernel._tied(0.85, x)  # reads the first of the tied pair: the sort decides which one
    assert not _kernel._tied(0.5, x) and not _kernel._tied(0.15, x)
    assert _kernel._tied(0.15, np.array([0.0, 0.0, 0.2]))  # the last of two at 0.0
    assert _kernel._tied(0.3, np.array([0.1, 0.3, 0.3]))  # exactly on a tied delta


def reference_snapshots(ts, inst, expiry, step):
    """The pandas definition the backfill had: stable time order, buckets of floor(ts / step), each
    instrument's last row in its bucket stamped with the bucket's latest time, minus the expired."""
    q = pd.DataFrame({"ts": ts, "inst": inst, "expiry": expiry, "pos": np.arange(ts.size)})
    q = q.sort_values("ts", kind="stable")
    out = []
    for _, g in q.groupby(q["ts"] // step, sort=True):
        last = g.drop_duplicates("inst", keep="last")
        when = last["ts"].max()
        out.append((when, last.loc[last["expiry"] > when, "pos"].tolist()))
    return out


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5), st.integers(1, 50)), min_size=1, max_size=80))
def test_snapshots_are_each_buckets_latest_quote_per_instrument(rows):
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    inst = np.array([r[1] for r in rows], dtype=np.int64)
    expiry = ts + np.array([r[2] for r in rows], dtype=np.int64) - 10  # some expire within their bucket
    got_rows, starts, times = _kernel.select_snapshots(ts, inst, expiry, 10)
    got = [(times[s], got_rows[starts[s] : starts[s + 1]].tolist()) for s in range(times.size)]
    assert got == reference_snapshots(ts, inst, expiry, 10)


def test_repeated_keys_are_an_instrument_twice_at_one_time():
    ts, inst = np.array([5, 3, 5, 3]), np.array([0, 1, 1, 0])
    assert not _kernel.repeated_keys(ts, inst)
    assert _kernel.repeated_keys(np.append(ts, 3), np.append(inst, 1))


@st.composite
def chains(draw):
    """A small chain around S0 = 90,000 with dealer weights of either sign (so the GEX profile crosses zero
    zero, once or several times)."""
    n = draw(st.integers(1, 12))
    unit = hnp.arrays(np.float64, n, elements=st.floats(0.0, 1.0))
    K = 90_000.0 * (0.75 + 0.5 * draw(unit))
    F = 90_000.0 * (0.995 + 0.01 * draw(unit))
    t = 1 / 365 + 0.3 * draw(unit)
    vol = 0.25 + draw(unit)
    w = draw(hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)))
    return F, K, t, vol, w


@settings(max_examples=300)
@given(chains())
def test_flip_bracket_is_the_nearest_crossing_of_the_whole_profile(chain):
    F, K, t, vol, w = chain
    s0 = 90_000.0
    spots = s0 * GRID
    full = np.empty(GRID.size)
    dollar_gamma_profile(F, K, t, vol, w, spots / s0, full)  # `gex.gamma_profile`'s profile
    assert all(_kernel.total_gex(s, s0, F, K, t, vol, w) == v for s, v in zip(spots, full, strict=True))
    hit = gex._nearest_crossing(pd.DataFrame({"spot": spots, "gex_usd": full}), s0)
    kind, guess, lo, hi = _kernel._flip_bracket(s0, GRID, F, K, t, vol, w)
    if hit is None:
        assert kind == 0 and np.isnan(guess)
    else:
        assert (guess, lo, hi) == hit and kind == (1 if lo == hi else 2)


def test_no_gamma_anywhere_is_no_flip():
    F, K, t, vol = np.full(3, 9e4), np.array([8e4, 9e4, 1e5]), np.full(3, 0.1), np.full(3, 0.5)
    assert _kernel._flip_bracket(9e4, GRID, F, K, t, vol, np.zeros(3))[0] == 0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_profile_of_one_sign_has_no_flip(sign):
    F, K, t, vol = np.full(3, 9e4), np.array([8e4, 9e4, 1e5]), np.full(3, 0.1), np.full(3, 0.5)
    assert _kernel._flip_bracket(9e4, GRID, F, K, t, vol, np.full(3, sign))[0] == 0
