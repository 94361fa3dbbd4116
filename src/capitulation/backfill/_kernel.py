"""Numba kernels behind `backfill.run`: a file's snapshots, then every metric of every snapshot in one pass.

They redo, operation for operation, what the `options` command's pandas analytics do (`smile.risk_reversals`
and `constant_maturity`, `gex.reference_spot`, `gex_by_strike`, `walls`, `gamma_profile`), so a backfill row
equals that command's numbers bit for bit:

* groups are taken in pandas' order (sorted keys, rows in chain order within a group) and summed as pandas
  sums them (`_group_sums`: numpy's reduceat or Kahan, as pandas picks), numpy's pairwise sum for a total;
* `np.interp` and numpy's median are reproduced exactly (`_interp`, `_median`);
* the GEX profile is only evaluated where its nearest zero crossing to S0 can be (`_flip_bracket`): the
  grid points outward from S0 until no unevaluated interval can hold a nearer crossing.

One thing is not reproduced: the order pandas' unstable quicksort gives to equal call deltas. Where such a
tie decides an interpolated vol, the snapshot is flagged (`tied`) and its smile is taken from `smile` itself.

All run on one thread; the entry points release the GIL (a Dask worker keeps answering while they run).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from capitulation.analytics._black76_kernel import _gamma_one

NO_TIME = np.iinfo(np.int64).min
_PW_BLOCK = 128  # numpy's pairwise-sum block (PW_BLOCKSIZE)


@njit(cache=True, nogil=True)
def repeated_keys(ts: np.ndarray, inst: np.ndarray) -> bool:
    """Whether an instrument (codes `inst` >= 0) has two rows at one time `ts`."""
    prev = np.full(inst.max() + 1 if inst.size else 0, NO_TIME, np.int64)
    for r in np.argsort(ts, kind="mergesort"):
        if prev[inst[r]] == ts[r]:
            return True
        prev[inst[r]] = ts[r]
    return False


@njit(cache=True, nogil=True)
def select_snapshots(ts: np.ndarray, inst: np.ndarray, expiry: np.ndarray, step: int) -> tuple:
    """The snapshots of a file's rows (times `ts` and `expiry` in ns, instrument codes `inst` >= 0).

    Rows are taken in time order (stable) and bucketed by floor(ts / step); a bucket's chain is the last row
    of each instrument in it, stamped with the bucket's latest time, less the instruments expired then.
    Returns the chains' rows (file positions, chain after chain, each in that order), the offsets of each
    chain in them (n + 1) and each chain's time.
    """
    n = ts.size
    order = np.argsort(ts, kind="mergesort")
    last = np.full(inst.max() + 1 if n else 0, -1, np.int64)
    rows = np.empty(n, np.int64)
    starts = np.zeros(n + 1, np.int64)
    times = np.empty(n, np.int64)
    kept, snaps, p = 0, 0, 0
    while p < n:
        bucket = ts[order[p]] // step
        q = p
        while q < n and ts[order[q]] // step == bucket:
            last[inst[order[q]]] = q
            q += 1
        when = ts[order[q - 1]]
        for k in range(p, q):
            r = order[k]
            if last[inst[r]] == k and expiry[r] > when:
                rows[kept] = r
                kept += 1
        times[snaps] = when
        snaps += 1
        starts[snaps] = kept
        p = q
    return rows[:kept], starts[: snaps + 1], times[:snaps]


@njit(cache=True)
def _median(v: np.ndarray) -> float:
    """np.median: the middle value, or the mean (a + b) / 2 of the two middle ones."""
    s = np.sort(v)
    m = s.size // 2
    return s[m] if s.size % 2 else (s[m - 1] + s[m]) / 2.0


@njit(cache=True, nogil=True)
def reference_spots(
    starts: np.ndarray, times: np.ndarray, expiry: np.ndarray, F: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """`gex.reference_spot` of each chain: the median index price, else the median forward of the nearest
    expiry (among live rows with a forward); NaN when the chain has neither."""
    out = np.full(starts.size - 1, np.nan)
    for s in range(out.size):
        a, b = starts[s], starts[s + 1]
        idx = index[a:b]
        idx = idx[~np.isnan(idx)]
        if idx.size:
            out[s] = _median(idx)
            continue
        live = ~np.isnan(F[a:b]) & (expiry[a:b] > times[s])
        if live.any():
            e = expiry[a:b][live]
            out[s] = _median(F[a:b][live][e == e.min()])
    return out


@njit(cache=True)
def pairwise_sum(a: np.ndarray) -> float:
    """numpy's float64 sum (`np.add.reduce`): eight running sums in blocks of up to 128, halves above."""
    n = a.size
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= _PW_BLOCK:
        r = a[:8].copy()
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] += a[i + k]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a[:n2]) + pairwise_sum(a[n2:])


@njit(cache=True)
def _group_sums(values: np.ndarray, order: np.ndarray, keys: np.ndarray, finite: bool) -> tuple:
    """pandas' `groupby().sum()` of `values` by `keys`, `order` being the rows sorted by key (stable). With
    the rows already in key order and no NaN (`finite`) pandas takes numpy's reduceat: each group's first
    value plus the pairwise sum of the rest; otherwise its Cython kernel: Kahan-compensated sums in row
    order. Returns the sums and the first row of each group, in key order."""
    n = order.size
    in_order = True
    for k in range(n):
        if order[k] != k:
            in_order = False
            break
    sums = np.empty(n)
    first = np.empty(n, np.int64)
    g, k = 0, 0
    while k < n:
        q = k + 1
        while q < n and keys[order[q]] == keys[order[k]]:
            q += 1
        first[g] = order[k]
        if in_order and finite:
            sums[g] = values[k] + pairwise_sum(values[k + 1 : q])
        else:
            total = comp = 0.0
            for j in range(k, q):
                y = values[order[j]] - comp
                t = total + y
                comp = t - total - y
                if comp != comp:  # an infinite value: pandas resets the compensation
                    comp = 0.0
                total = t
            sums[g] = total
        g += 1
        k = q
    return sums[:g], first[:g]


@njit(cache=True)
def _wall(gex: np.ndarray, order: np.ndarray, strikes: np.ndarray, finite: bool) -> float:
    """`gex.walls` of one side: the strike with the largest |GEX summed over expiries|, the first of equals;
    NaN unless one is above 0. `gex` per (expiry, strike) group, `order` the groups by strike (stable)."""
    sums, heads = _group_sums(gex, order, strikes, finite)
    sums = np.abs(sums)
    if sums.size == 0 or not sums.max() > 0:
        return np.nan
    return strikes[heads[np.argmax(sums)]]


@njit(cache=True)
def _interp(target: float, x: np.ndarray, y: np.ndarray) -> float:
    """`smile._interp`: np.interp(target, x, y) for x ascending, NaN outside [x[0], x[-1]]."""
    n = x.size
    if n == 0 or not x[0] <= target <= x[-1]:
        return np.nan
    j = np.searchsorted(x, target, side="right") - 1
    if j == n - 1 or x[j] == target:
        return y[j]
    slope = (y[j + 1] - y[j]) / (x[j + 1] - x[j])
    v = slope * (target - x[j]) + y[j]
    if v != v:
        v = slope * (target - x[j + 1]) + y[j + 1]
        if v != v and y[j] == y[j + 1]:
            v = y[j]
    return v


@njit(cache=True)
def _tied(target: float, x: np.ndarray) -> bool:
    """Whether `_interp(target, x, y)` reads a y whose x equals a neighbour's (its order among equal x
    is then the sort's choice)."""
    n = x.size
    if n == 0 or not x[0] <= target <= x[-1]:
        return False
    j = np.searchsorted(x, target, side="right") - 1
    if j > 0 and x[j - 1] == x[j]:
        return True
    return j < n - 1 and x[j] != target and j + 2 < n and x[j + 2] == x[j + 1]


@njit(cache=True)
def _total_variance_interp(T: float, t: np.ndarray, iv: np.ndarray) -> float:
    """`smile._total_variance_interp`: iv at T, linear in iv^2 t between the bracketing expiries."""
    if t.size == 0 or not t[0] <= T <= t[-1]:
        return np.nan
    j = np.searchsorted(t, T, side="left")
    if t[j] == T:
        return iv[j]
    t1, t2, w1, w2 = t[j - 1], t[j], iv[j - 1] * iv[j - 1] * t[j - 1], iv[j] * iv[j] * t[j]
    w = w1 + (w2 - w1) * (T - t1) / (t2 - t1)
    return np.sqrt(w / T)


@njit(cache=True)
def total_gex(
    spot: float, s0: float, F: np.ndarray, K: np.ndarray, t: np.ndarray, vol: np.ndarray, w: np.ndarray
) -> float:
    """Total sticky-strike GEX at `spot` (`gex._total_gex`, one spot): sum of w gamma(F S/S0) (F S/S0)^2."""
    ratio = spot / s0
    acc = 0.0
    for i in range(F.size):
        f = F[i] * ratio
        g = _gamma_one(f, K[i], t[i], vol[i])
        if g == g:
            acc += w[i] * g * f * f
    return acc


@njit(cache=True)
def _flip_bracket(
    s0: float, grid: np.ndarray, F: np.ndarray, K: np.ndarray, t: np.ndarray, vol: np.ndarray, w: np.ndarray
) -> tuple[int, float, float, float]:
    """`gex._nearest_crossing` of the profile at spots S0 x `grid` (ascending), evaluating only the grid
    points it needs: intervals in order of their distance to S0 until it exceeds the nearest crossing's.

    Returns (0, nan, nan, nan) without a crossing (also when GEX is zero at every spot), (1, spot, spot,
    spot) for a zero at a grid spot, else (2, linear guess, lower spot, upper spot).
    """
    n = grid.size
    s = s0 * grid
    g = np.zeros(n)
    done = np.zeros(n, np.bool_)
    zero = np.zeros(n, np.bool_)
    cross = np.zeros(n, np.bool_)
    cx = np.full(n, np.nan)
    best = np.inf
    k = min(max(np.searchsorted(s, s0, side="right") - 1, 0), n - 2)
    left, right = k, k + 1
    while left >= 0 or right <= n - 2:
        lo_l = max(0.0, s[left] - s0, s0 - s[left + 1]) if left >= 0 else np.inf
        lo_r = max(0.0, s[right] - s0, s0 - s[right + 1]) if right <= n - 2 else np.inf
        if min(lo_l, lo_r) > best:
            break
        if lo_l <= lo_r:
            i = left
            left -= 1
        else:
            i = right
            right += 1
        for p in (i, i + 1):
            if not done[p]:
                g[p] = total_gex(s[p], s0, F, K, t, vol, w)
                done[p] = True
                if g[p] == 0.0:
                    zero[p] = True
                    best = min(best, abs(s[p] - s0))
        if g[i] * g[i + 1] < 0:
            cross[i] = True
            cx[i] = s[i] - g[i] * (s[i + 1] - s[i]) / (g[i + 1] - g[i])
            best = min(best, abs(cx[i] - s0))
    if not cross.any():
        if not zero.any():
            return 0, np.nan, np.nan, np.nan
        for p in range(n):  # a zero at a grid spot counts unless GEX is zero at every spot
            if not done[p]:
                g[p] = total_gex(s[p], s0, F, K, t, vol, w)
        if not (g != 0.0).any():
            return 0, np.nan, np.nan, np.nan
    # the first nearest of: the zeros, then the crossings, each in grid order (as `min` over that list)
    kind, at, dist = 0, -1, np.inf
    for p in range(n):
        if zero[p] and abs(s[p] - s0) < dist:
            kind, at, dist = 1, p, abs(s[p] - s0)
    for i in range(n - 1):
        if cross[i] and abs(cx[i] - s0) < dist:
            kind, at, dist = 2, i, abs(cx[i] - s0)
    if kind == 1:
        return 1, s[at], s[at], s[at]
    return 2, cx[at], s[at], s[at + 1]


@njit(cache=True)
def _smile(
    a: int, b: int, rows_of: tuple, deltas: np.ndarray, maturities: np.ndarray, atm_out: np.ndarray, rr_out: np.ndarray
) -> bool:
    """ATM vol and risk reversals at constant maturities of chain rows a..b (`smile.risk_reversals` then
    `constant_maturity`) into atm_out (maturity) and rr_out (maturity, delta); True when a tie among call
    deltas decides a vol (see module docstring). `rows_of`: the columns, as `snapshot_kernel` takes them."""
    expiry, K, F, vol, t, quoted, is_call, cd = rows_of
    keep = np.empty(b - a, np.int64)
    m = 0
    for i in range(a, b):
        otm = K[i] >= F[i] if is_call[i] else K[i] < F[i]
        if otm and quoted[i] and cd[i] == cd[i]:
            keep[m] = i
            m += 1
    rows = keep[:m]
    rows = rows[np.argsort(cd[rows], kind="mergesort")]
    rows = rows[np.argsort(expiry[rows], kind="mergesort")]
    nd = deltas.size
    te = np.empty(m)
    ivs = np.empty((1 + 2 * nd, m))  # atm, then call and put vol of each delta, per expiry
    ne, tied, p = 0, False, 0
    while p < m:
        q = p
        while q < m and expiry[rows[q]] == expiry[rows[p]]:
            q += 1
        x, y = cd[rows[p:q]], vol[rows[p:q]]
        te[ne] = t[rows[p]]
        ivs[0, ne] = _interp(0.5, x, y)
        tied |= _tied(0.5, x)
        for d in range(nd):
            ivs[1 + 2 * d, ne] = _interp(deltas[d], x, y)
            ivs[2 + 2 * d, ne] = _interp(1.0 - deltas[d], x, y)
            tied |= _tied(deltas[d], x) or _tied(1.0 - deltas[d], x)
        ne += 1
        p = q
    for j in range(maturities.size):
        T = maturities[j]
        atm_out[j] = _total_variance_interp(T, te[:ne], ivs[0, :ne])
        for d in range(nd):
            call = _total_variance_interp(T, te[:ne], ivs[1 + 2 * d, :ne])
            put = _total_variance_interp(T, te[:ne], ivs[2 + 2 * d, :ne])
            rr_out[j, d] = call - put
    return tied


@njit(cache=True, nogil=True)
def snapshot_kernel(
    starts: np.ndarray,
    s0: np.ndarray,
    rows_of: tuple,
    oi: np.ndarray,
    size: np.ndarray,
    gamma: np.ndarray,
    deltas: np.ndarray,
    maturities: np.ndarray,
    grid: np.ndarray,
    move: float,
) -> tuple:
    """Every metric of every chain (rows starts[s]..starts[s+1]) in one pass. `rows_of` holds per row:
    expiry (ns), strike, forward, mark IV, t (years), quoted (a bid or open interest), is_call and the call
    delta; with open interest, contract size and gamma at S0 per row, S0 per chain, the target deltas,
    maturities (years), the profile grid (spots / S0) and the 1 % move.

    Returns per chain: ATM vol (maturity), risk reversals (maturity, delta), whether a call-delta tie decides
    them, total GEX, call and put walls, the flip bracket (`_flip_bracket`: kind, guess, low, high), and the
    GEX rows (positions, dealers' weight per 1 % move) with their offsets."""
    expiry, K, F, vol, t, _, is_call, cd = rows_of
    ns = starts.size - 1
    atm = np.full((ns, maturities.size), np.nan)
    rr = np.full((ns, maturities.size, deltas.size), np.nan)
    tied = np.zeros(ns, np.bool_)
    total = np.zeros(ns)
    walls = np.full((ns, 2), np.nan)
    flip = np.full((ns, 4), np.nan)
    gex_rows = np.empty(K.size, np.int64)
    weight = np.empty(K.size)
    gex_starts = np.zeros(ns + 1, np.int64)
    m = 0
    for s in range(ns):
        a, b = starts[s], starts[s + 1]
        tied[s] = _smile(a, b, rows_of, deltas, maturities, atm[s], rr[s])
        # gex_by_strike: dealers long calls, short puts; rows with a delta and a position
        first = m
        for i in range(a, b):
            dealer = oi[i] if is_call[i] else -oi[i]
            if cd[i] == cd[i] and dealer != 0:
                gex_rows[m] = i
                weight[m] = dealer * size[i]
                m += 1
        gex_starts[s + 1] = m
        rows = gex_rows[first:m]
        fs = F[rows] * s0[s] / s0[s]
        per_row = gamma[rows] * fs * fs * move * weight[first:m]
        call_gex = np.zeros(rows.size)  # each row's GEX in its side's column, 0 in the other (as by_strike)
        put_gex = np.zeros(rows.size)
        for k in range(rows.size):
            if is_call[rows[k]]:
                call_gex[k] = per_row[k]
            else:
                put_gex[k] = per_row[k]
        pos = np.arange(rows.size)
        by = pos[np.argsort(K[rows], kind="mergesort")]
        by = by[np.argsort(expiry[rows][by], kind="mergesort")]
        group = np.empty(rows.size, np.int64)  # (expiry, strike) group of each row
        gi = -1
        for k in range(by.size):
            r = rows[by[k]]
            if k == 0 or expiry[r] != expiry[rows[by[k - 1]]] or K[r] != K[rows[by[k - 1]]]:
                gi += 1
            group[by[k]] = gi
        calls, heads = _group_sums(call_gex, by, group, not np.isnan(call_gex).any())
        puts, _ = _group_sums(put_gex, by, group, not np.isnan(put_gex).any())
        total[s] = pairwise_sum(calls + puts)
        strikes = K[rows[heads]]
        per = np.argsort(strikes, kind="mergesort")
        finite = not (np.isnan(calls).any() or np.isnan(puts).any())  # one block of both columns
        walls[s, 0] = _wall(calls, per, strikes, finite)
        walls[s, 1] = _wall(puts, per, strikes, finite)
        for k in range(first, m):
            weight[k] *= move
        kind, guess, low, high = _flip_bracket(s0[s], grid, F[rows], K[rows], t[rows], vol[rows], weight[first:m])
        flip[s, 0], flip[s, 1], flip[s, 2], flip[s, 3] = kind, guess, low, high
    return atm, rr, tied, total, walls, flip, gex_rows[:m], weight[:m], gex_starts
