"""Event study: every BTC drawdown of 20 % or more, and what leverage did into its trough.

Drawdowns are the down-swings of a zig-zag on daily closes: a swing high H is confirmed once price
falls `threshold` (fraction) below it, the following low L once price rallies `threshold` above it (or
the data ends); each H -> L move of at least `threshold` is one drawdown (depth = L / H - 1).

For each drawdown, open interest (OI) in BTC terms over [peak, trough]:

    oi_drop   = 1 - OI(trough) / max OI(peak..trough)           fraction of the decline's OI peak removed
    flush     = oi_drop >= flush_drop                            the decline ended with an OI flush
    flush_ratio = (max OI - OI(trough)) / (max OI - base)  as in signal 1: the share of the build-up
                removed, base = the lowest OI in the `lookback_days` before the decline's OI peak

OI(trough) is the lowest OI within `trough_days` after the trough (liquidations settle within a day or
two). Funding over the decline: mean and minimum of the daily funding rate (fraction per 8 h). Days are
daily bars: the peak day's window opens at its 00:00 UTC and the trough day's closes at its last second.

OI histories (`oi_histories`): a venue's own BTC count first, then the all-exchange USD aggregates in
`OI_PRIORITY` order converted at the BTC close known at each OI stamp (the close of the day whose bar had
ended by then); one series per window, never spliced (their levels differ by venue coverage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.errors import DataError
from capitulation.tables import DAY_CLOSE
from capitulation.timeutil import age_days


@dataclass(frozen=True)
class Swing:
    peak_date: pd.Timestamp
    peak: float
    trough_date: pd.Timestamp
    trough: float
    confirmed: bool  # False: the last down-swing, not yet followed by a `threshold` rally

    @property
    def depth(self) -> float:
        return self.trough / self.peak - 1.0


def drawdowns(close: pd.Series, threshold: float = 0.2) -> list[Swing]:
    """Down-swings of at least `threshold` in a time-indexed close series (see module docstring)."""
    return zigzag(close, threshold).swings()


@dataclass(frozen=True)
class ZigZag:
    """The zig-zag of `drawdowns` run once over ascending closes, with its state after each close, so that
    the drawdowns of the first n closes (the series as known at an earlier date) are read off it: the
    swings confirmed by then, and the fall tracked then as the unconfirmed last one."""

    index: pd.Index
    values: np.ndarray
    confirmed: tuple[Swing, ...]
    confirmed_at: np.ndarray  # position of the close that confirmed each swing
    falling: np.ndarray  # after each close: a high is confirmed and the low after it tracked
    hi: np.ndarray  # after each close: position of the swing high
    lo: np.ndarray  # after each close: position of the low tracked (when falling)

    def head(self, n: int) -> ZigZag:
        """The zig-zag of the first `n` closes."""
        keep = int(np.searchsorted(self.confirmed_at, n - 1, side="right"))
        return ZigZag(
            self.index[:n],
            self.values[:n],
            self.confirmed[:keep],
            self.confirmed_at[:keep],
            self.falling[:n],
            self.hi[:n],
            self.lo[:n],
        )

    def swings(self) -> list[Swing]:
        """The drawdowns (`drawdowns`) of these closes; `DataError` with fewer than 2."""
        if len(self.values) < 2:
            raise DataError("event study: need a price history of at least 2 closes")
        out = list(self.confirmed)
        if self.falling[-1]:
            hi, lo = self.hi[-1], self.lo[-1]
            out.append(Swing(self.index[hi], self.values[hi], self.index[lo], self.values[lo], False))
        return out


def zigzag(close: pd.Series, threshold: float = 0.2) -> ZigZag:
    """The zig-zag of `drawdowns` over `close` (time-indexed; NaN dropped, sorted by time)."""
    s = close.dropna().sort_index()
    if len(s) < 2:
        raise DataError("event study: need a price history of at least 2 closes")
    if not 0 < threshold < 1:
        raise DataError(f"event study: threshold must be a fraction in (0, 1), got {threshold}")
    idx, v = s.index, s.to_numpy(dtype=float)
    n = len(v)
    falling_at, hi_at, lo_at = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    out: list[Swing] = []
    at: list[int] = []
    hi = lo = 0
    falling = False  # True once a high is confirmed and we are tracking the low after it
    for i in range(1, n):
        if not falling:
            if v[i] > v[hi]:
                hi = i
            elif v[i] <= v[hi] * (1 - threshold):
                falling, lo = True, i
        else:
            if v[i] < v[lo]:
                lo = i
            elif v[i] >= v[lo] * (1 + threshold):
                out.append(Swing(idx[hi], v[hi], idx[lo], v[lo], True))
                at.append(i)
                falling, hi = False, i
        falling_at[i], hi_at[i], lo_at[i] = falling, hi, lo
    return ZigZag(idx, v, tuple(out), np.array(at, dtype=np.int64), falling_at, hi_at, lo_at)


@dataclass(frozen=True)
class OiSeries:
    """An OI history in BTC (and in USD, as reported) with the name of its source (a venue or an
    aggregate) for the output."""

    name: str
    oi_btc: pd.Series
    oi_usd: pd.Series | None = None


STUDY_COLUMNS = [
    "peak_date",
    "peak",
    "trough_date",
    "trough",
    "depth",
    "days",
    "confirmed",
    "oi_source",
    "oi_change",
    "oi_drop",
    "flush_ratio",
    "flush",
    "funding_mean",
    "funding_min",
]


def study(
    swings: list[Swing],
    oi: list[OiSeries],
    funding: pd.Series | None = None,
    *,
    flush_drop: float = 0.15,
    trough_days: int = 3,
    lookback_days: int = 180,
) -> pd.DataFrame:
    """One row per drawdown: depth, OI source and change, flush flag, funding (see module docstring).

    `oi` is tried in order: the first series that covers the whole decline is used; a decline no series
    covers gets NaN OI fields and source 'none'.
    """
    series = []
    for src in oi:
        s = src.oi_btc.dropna().sort_index()
        series.append((src.name, _ns(s.index), s.to_numpy(dtype=float)))
    by_search = funding is not None and funding.index.is_monotonic_increasing
    if by_search:
        known = funding.notna().to_numpy()
        funding_t, funding_v = _ns(funding.index[known]), funding.to_numpy(dtype=float)[known]
    lookback = pd.Timedelta(days=lookback_days).as_unit("ns").value
    rows = []
    for sw in swings:
        row: dict[str, object] = {
            "peak_date": sw.peak_date,
            "peak": sw.peak,
            "trough_date": sw.trough_date,
            "trough": sw.trough,
            "depth": sw.depth,
            "days": (sw.trough_date - sw.peak_date).days,
            "confirmed": sw.confirmed,
            "oi_source": "none",
            "oi_change": np.nan,
            "oi_drop": np.nan,
            "flush_ratio": np.nan,
            "flush": pd.NA,
        }
        peak, trough = _ns(sw.peak_date), _ns(sw.trough_date)
        close = trough + _ns(DAY_CLOSE)
        end = close + _ns(pd.Timedelta(days=trough_days))
        for name, t, v in series:
            if not len(v) or t[0] > peak + _ns(DAY_CLOSE) or t[-1] < trough:
                continue
            during = slice(t.searchsorted(peak), t.searchsorted(close, side="right"))
            after = v[t.searchsorted(trough) : t.searchsorted(end, side="right")]
            if during.start >= during.stop or not len(after):
                continue
            at_peak, top, bottom = float(v[during.start]), float(v[during].max()), float(after.min())
            top_at = during.start + int(v[during].argmax())
            base = float(v[t.searchsorted(t[top_at] - lookback) : t.searchsorted(t[top_at], "right")].min())
            row |= {
                "oi_source": name,
                "oi_change": bottom / at_peak - 1.0,
                "oi_drop": 1.0 - bottom / top,
                "flush_ratio": (top - bottom) / (top - base) if top > base else np.nan,
                "flush": bool(1.0 - bottom / top >= flush_drop),
            }
            break
        if funding is None:
            f = np.empty(0)
        elif by_search:  # the rates in [peak, end], NaN left out
            f = funding_v[funding_t.searchsorted(peak) : funding_t.searchsorted(end, side="right")]
        else:
            idx = funding.index
            f = funding[(idx >= sw.peak_date) & (idx <= sw.trough_date + DAY_CLOSE + pd.Timedelta(days=trough_days))]
            f = f.dropna().to_numpy(dtype=float)
        row["funding_mean"] = float(f.sum() / len(f)) if len(f) else np.nan  # pandas' mean: sum / count
        row["funding_min"] = float(f.min()) if len(f) else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=STUDY_COLUMNS)


def _ns(t: pd.Timestamp | pd.Timedelta | pd.Index) -> int | np.ndarray:
    """Nanoseconds (since the epoch for times)."""
    return t.as_unit("ns").asi8 if isinstance(t, pd.Index) else t.as_unit("ns").value


def flush_share(table: pd.DataFrame) -> tuple[int, int]:
    """(declines that ended with a flush, declines with OI data), over confirmed drawdowns only."""
    known = table[table["confirmed"] & table["flush"].notna()]
    return int(known["flush"].astype(bool).sum()), len(known)


OI_PRIORITY: tuple[str, ...] = ("BTC-CG", "BTC-ALL")
"""All-exchange USD OI series (venue 'aggregate') in order of preference: CoinGlass's aggregated futures OI
(wider venue coverage, 2020-02..2025-09) before the older all-exchange series (2019-03..2024-11)."""
OI_PARTS: frozenset[str] = frozenset({"BTC-CG-COINM"})
"""Aggregate symbols that are a part of the market's OI (CoinGlass's coin-margined part), not a history."""


def close_known_at(btc_close: pd.Series, times: pd.DatetimeIndex) -> pd.Series:
    """The last BTC daily close known at each of `times` (USD): the close of the latest daily bar (indexed
    by its date, 00:00 UTC) that had ended by then; NaN before the first."""
    known = pd.Series(btc_close.to_numpy(dtype=float), index=btc_close.index + DAY_CLOSE).sort_index()
    pos = known.index.searchsorted(times, side="right") - 1
    values = np.where(pos >= 0, known.to_numpy()[np.clip(pos, 0, None)], np.nan)
    return pd.Series(values, index=times)


def oi_histories(perps: pd.DataFrame, btc_close: pd.Series) -> list[OiSeries]:
    """OI histories in BTC from the `perp_metrics` table, the most direct first.

    Venues that report OI in BTC come first (one series per venue and symbol); the all-exchange aggregates
    reported in USD follow in `OI_PRIORITY` order (others after, parts left out), converted at the BTC
    close known at each stamp (oi_btc = oi_usd / close).
    """
    out: list[OiSeries] = []
    direct = perps.dropna(subset=["oi_btc"])
    for (venue, symbol), g in direct.groupby(["venue", "symbol"], sort=True):
        g = g.set_index("timestamp").sort_index()
        out.append(OiSeries(f"{venue} {symbol} (BTC)", g["oi_btc"], g["oi_usd"]))
    usd_only = perps[perps["oi_btc"].isna() & perps["oi_usd"].notna() & ~perps["symbol"].isin(OI_PARTS)]
    rank = {sym: i for i, sym in enumerate(OI_PRIORITY)}
    groups = sorted(usd_only.groupby(["venue", "symbol"]), key=lambda kv: (rank.get(kv[0][1], len(rank)), kv[0]))
    for (venue, symbol), g in groups:
        usd = g.set_index("timestamp")["oi_usd"].sort_index()
        btc = (usd / close_known_at(btc_close, usd.index)).dropna()
        if not btc.empty:
            out.append(OiSeries(f"{venue} {symbol} (USD / BTC close)", btc, usd[btc.index]))
    return out


def current_oi(histories: list[OiSeries], as_of: pd.Timestamp, max_age_days: float, min_days: float) -> OiSeries | None:
    """The first of `histories` (most direct first) whose latest value is at most `max_age_days` old at
    `as_of` and that reaches back at least `min_days` before it; None when none does."""
    for h in histories:
        s = h.oi_btc.dropna()
        s = s[s.index <= as_of]
        if s.empty:
            continue
        fresh = age_days(as_of, s.index[-1]) <= max_age_days
        if fresh and (s.index[-1] - s.index[0]).total_seconds() / 86400 >= min_days:
            return OiSeries(h.name, s, None if h.oi_usd is None else h.oi_usd[h.oi_usd.index <= as_of])
    return None


def flush_threshold(table: pd.DataFrame, quantile: float = 0.25, min_events: int = 4) -> float | None:
    """The flush ratio a decline's trough must reach to count as flushed, taken from history.

    The `quantile` of the flush ratios at the troughs of past confirmed declines that ended with an OI
    flush; None with fewer than `min_events` such declines.
    """
    done = table[table["confirmed"] & (table["flush"] == True)]  # noqa: E712 - nullable boolean column
    ratios = done["flush_ratio"].dropna()
    return float(ratios.quantile(quantile)) if len(ratios) >= min_events else None
