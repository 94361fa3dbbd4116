"""Signal 7, hedging: in the current stress window, did the diversifiers fail with BTC?

The thesis: in a real liquidation moment everything is sold, gold, stocks and the BTC proxies with BTC, so
the only hedge that still works is one on the original exposure (puts, a perp short: what they cost is the
hedge desk, `analytics.hedge_desk` and `capitulation hedge`). The verdict reads the market, not the
instruments.

Stress window: the last `window_days` (7) calendar days to as_of, when BTC's close is at least
`stress_drawdown` (20 %) below its highest close of the last `high_lookback_days` (180) and BTC fell over
those days. Otherwise the verdict does not hold: "no stress window".

Each diversifier (GLD gold, QQQ the Nasdaq 100, MSTR), on log returns aligned to the NY close as in
`analytics.cross_asset` (BTC's UTC close of date d against the NY close of d, returns between common dates,
so BTC's weekend lands in Monday's return), against its own history (its reference: its returns over the
`reference_days` before the current decline began at BTC's high, or before its correlation window if that
starts earlier; nothing from the decline itself, nothing after as_of):

    fell with BTC   its return over the window < min(0, its `fell_quantile` (lower quartile) of 7-day
                    window returns in its reference), while BTC fell over the same sessions
    collapsed       rho^2 of BTC's returns on its returns over the last `corr_sessions` (20) common returns
                    < its `collapse_quantile` (10th percentile) of 20-session rho^2 in its reference; tested
                    only where its reference median rho^2 >= `min_reference_effectiveness` (0.1): a proxy that
                    never hedged has no effectiveness to lose
    failed          fell with BTC or collapsed

Holds when every diversifier with enough data (at least `min_judged`) failed; does not hold when one did not.
Formulas: `analytics.hedging` (window_return, rolling_window_returns, rolling_effectiveness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics import cross_asset as xa
from capitulation.analytics import hedging as hg
from capitulation.formats import pct, usd
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, aligned_returns, wide_closes
from capitulation.signals.cross_asset import ALIGNMENT, SYMBOLS
from capitulation.snapshot import Derived, Snapshot, cut_days
from capitulation.tables import DAILY_PRICES
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "hedging", "Hedging"
DIVERSIFIERS = {"GLD": "gold", "QQQ": "Nasdaq 100", "MSTR": "BTC proxy"}  # among signal 2's SYMBOLS


@dataclass(frozen=True)
class Thresholds:
    # A decline is BTC 20 % or more below its high: the event study's drawdown size (`analytics.events`),
    # the size of every decline the signals are judged on.
    stress_drawdown: float = 0.2
    # BTC's high is its highest close of the last half-year, so that a bear market's lows are measured from
    # its top: every 20 %+ peak-to-trough since 2020 took under 180 days (the longest, 122).
    high_lookback_days: int = 180
    # The stress window. A liquidation moment is forced selling of everything within days (margin calls are
    # met the same day); over a whole decline of months the diversifiers have time to recover. A week holds
    # 5 NY sessions.
    window_days: int = 7
    min_window_sessions: int = 3  # a week with a holiday has 4 NY sessions; fewer is missing data
    # Effectiveness over the last 20 common returns: the fewest the project takes a correlation from
    # (`cross_asset.MIN_OBS`); the window's 5 would not do.
    corr_sessions: int = xa.MIN_OBS
    # The reference: each diversifier's two years before the current decline, its current regime (MSTR has
    # tracked BTC since it began buying it in 2020-08).
    reference_days: int = 730
    # Fell with BTC: a window return below its lower quartile of past 7-day windows (and below 0): worse
    # than three weeks in four of its own history, so a flat week is not a fall.
    fell_quantile: float = 0.25
    # Collapsed: a 20-session rho^2 below the 10th percentile of its own past 20-session windows.
    collapse_quantile: float = 0.10
    # A proxy whose median rho^2 is under 0.1 removed under a tenth of BTC's variance: it never hedged, so
    # it is judged on its return alone (gold, most of the time).
    min_reference_effectiveness: float = 0.1
    # About half a year of sessions, one window ending at each, before a quantile is taken.
    min_reference_windows: int = 120
    min_judged: int = 2  # at least two of the three diversifiers judged, else "not enough data"
    max_age_days: float = 5.0  # a close older than this (a long weekend is 4 days) is stale, as in signal 2


@dataclass(frozen=True)
class Diversifier:
    """One diversifier in the stress window against its own history; returns and rho^2 as fractions."""

    symbol: str
    last_date: pd.Timestamp  # its last NY close on or before as_of
    window_return: float
    window_sessions: int
    btc_window_return: float  # BTC over the same sessions (aligned returns)
    fell_below: float  # min(0, fell_quantile of its reference window returns)
    reference_from: pd.Timestamp  # the first and last dates a reference window ends on
    reference_to: pd.Timestamp
    reference_windows: int
    effectiveness: float  # rho^2 over the last corr_sessions common returns
    effectiveness_from: pd.Timestamp
    effectiveness_median: float  # median 20-session rho^2 in its reference
    collapse_below: float | None  # None: no collapse test (its median is under min_reference_effectiveness)

    @property
    def fell(self) -> bool:
        return self.window_return < self.fell_below and self.btc_window_return < 0

    @property
    def collapsed(self) -> bool:
        return self.collapse_below is not None and self.effectiveness < self.collapse_below

    @property
    def failed(self) -> bool:
        return self.fell or self.collapsed


@dataclass(frozen=True)
class StressState:
    """BTC's decline at as_of and each diversifier in the window (a string: why it is not judged)."""

    btc_close: float
    btc_date: pd.Timestamp
    high: float
    high_date: pd.Timestamp
    drawdown: float  # close / high - 1
    window_return: float  # BTC over the last window_days, its own UTC closes
    stress: bool
    diversifiers: dict[str, Diversifier | str]

    @property
    def judged(self) -> dict[str, Diversifier]:
        return {s: d for s, d in self.diversifiers.items() if isinstance(d, Diversifier)}


def state(snap: Snapshot, th: Thresholds = Thresholds()) -> StressState | str:
    """BTC's stress window at as_of and each diversifier in it, or why there is no answer."""
    px = snap.get("daily_prices")
    if px is None:
        return "no daily prices"
    wide = wide_closes(snap, SYMBOLS)  # BTC and the diversifiers among them
    btc = wide[BTC].dropna() if BTC in wide.columns else pd.Series(dtype=float)
    if btc.empty:
        return "no BTC-USD closes"
    if DAILY_PRICES.age_days(snap.as_of, btc.index[-1]) > th.max_age_days:
        return f"no recent BTC-USD close (latest {btc.index[-1]:%Y-%m-%d})"
    since = snap.as_of - pd.Timedelta(days=th.high_lookback_days)
    if btc.index[0] > since:
        return f"BTC-USD closes start {btc.index[0]:%Y-%m-%d}, within the {th.high_lookback_days} days of its high"
    recent = btc[btc.index > since]
    high_date = recent.idxmax()
    drawdown = float(btc.iloc[-1] / recent.max() - 1.0)
    week = hg.window_return(np.log(btc).diff().dropna(), snap.as_of, th.window_days)[0]
    return StressState(
        float(btc.iloc[-1]),
        btc.index[-1],
        float(recent.max()),
        high_date,
        drawdown,
        week,
        drawdown <= -th.stress_drawdown and week < 0,
        {s: _diversifier(wide, s, snap, high_date, th) for s in DIVERSIFIERS},
    )


def _rolling(snap: Snapshot, sym: str, days: int, min_sessions: int, corr_sessions: int) -> pd.DataFrame:
    """Each window ending at each date of `sym`'s aligned returns with BTC: weeks (`hg.rolling_window_returns`)
    and effectiveness (`hg.rolling_effectiveness`); rolling windows are causal."""
    rets = aligned_returns(snap, SYMBOLS, BTC, sym)
    return pd.DataFrame(
        {
            "weeks": hg.rolling_window_returns(rets[sym], days, min_sessions),
            "effectiveness": hg.rolling_effectiveness(rets, BTC, sym, corr_sessions),
        }
    )


REFERENCE = Derived("hedging_reference", _rolling, cut_days)


def _diversifier(
    wide: pd.DataFrame, sym: str, snap: Snapshot, high_date: pd.Timestamp, th: Thresholds
) -> Diversifier | str:
    if sym not in wide.columns:
        return "no closes in the snapshot"
    rets = aligned_returns(snap, SYMBOLS, BTC, sym)
    if rets.empty or DAILY_PRICES.age_days(snap.as_of, rets.index[-1]) > th.max_age_days:
        return "no recent close in common with BTC-USD" + (f" (latest {rets.index[-1]:%Y-%m-%d})" if len(rets) else "")
    ret, n = hg.window_return(rets[sym], snap.as_of, th.window_days)
    if n < th.min_window_sessions:
        return f"{n} sessions in the last {th.window_days} days (needs {th.min_window_sessions})"
    corr = rets.tail(th.corr_sessions)
    end = min(high_date, corr.index[0])
    before = rets.index[: rets.index.searchsorted(end)]  # the returns dated before `end`
    in_ref = before >= end - pd.Timedelta(days=th.reference_days)  # windows ending in the reference
    rolling = snap.derived(REFERENCE, sym, th.window_days, th.min_window_sessions, th.corr_sessions)
    weeks = rolling["weeks"].iloc[: len(before)][in_ref].dropna()
    effs = rolling["effectiveness"].iloc[: len(before)][in_ref].dropna()
    if min(len(weeks), len(effs)) < th.min_reference_windows:
        return (
            f"{min(len(weeks), len(effs))} windows of history in the {th.reference_days} days before "
            f"{end:%Y-%m-%d} (needs {th.min_reference_windows})"
        )
    median = float(effs.median())
    return Diversifier(
        sym,
        rets.index[-1],
        ret,
        n,
        hg.window_return(rets[BTC], snap.as_of, th.window_days)[0],
        min(0.0, float(weeks.quantile(th.fell_quantile))),
        weeks.index[0],
        weeks.index[-1],
        len(weeks),
        hg.min_variance_hedge(corr[BTC].to_numpy(), corr[sym].to_numpy())["effectiveness"],
        corr.index[0],
        median,
        float(effs.quantile(th.collapse_quantile)) if median >= th.min_reference_effectiveness else None,
    )


def _line(d: Diversifier, th: Thresholds) -> str:
    what = {
        (True, True): "FAILED: fell with BTC and its effectiveness collapsed",
        (True, False): "FAILED: fell with BTC",
        (False, True): "FAILED: its effectiveness collapsed",
        (False, False): "did not fail",
    }[(d.fell, d.collapsed)]
    eff = (
        f"collapse below {d.collapse_below:.2f} (its {th.collapse_quantile:.0%} quantile), median "
        f"{d.effectiveness_median:.2f}"
        if d.collapse_below is not None
        else f"median {d.effectiveness_median:.2f}, under {th.min_reference_effectiveness:.2f}: never a hedge, "
        "no collapse test"
    )
    return (
        f"{d.symbol} ({DIVERSIFIERS[d.symbol]}) {what}: {pct(d.window_return)} over {d.window_sessions} sessions to "
        f"{d.last_date:%Y-%m-%d} (BTC {pct(d.btc_window_return)} over them) vs fell below {pct(d.fell_below)} "
        f"(its {th.fell_quantile:.0%} quantile of {d.reference_windows} {th.window_days}-day windows "
        f"{d.reference_from:%Y-%m-%d}..{d.reference_to:%Y-%m-%d}); rho^2 {d.effectiveness:.2f} over the "
        f"{th.corr_sessions} sessions from {d.effectiveness_from:%Y-%m-%d} vs {eff}"
    )


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    st = state(snap, th)
    if isinstance(st, str):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, st)
    t = ("daily_prices",)
    judged = st.judged
    failed = [s for s, d in judged.items() if d.failed]
    metrics = [
        Metric("btc_drawdown_from_high", st.drawdown, "fraction", t),
        Metric("btc_return_window", st.window_return, "fraction", t),
        Metric("diversifiers_judged", float(len(judged)), "count", t),
        Metric("diversifiers_failed", float(len(failed)), "count", t),
    ]
    days = th.window_days
    evidence = [
        f"BTC {usd(st.btc_close)} on {st.btc_date:%Y-%m-%d}: {pct(st.drawdown)} from its {th.high_lookback_days}-day "
        f"high {usd(st.high)} ({st.high_date:%Y-%m-%d}), {pct(st.window_return)} over the last {days} days"
    ]
    for sym, d in st.diversifiers.items():
        if isinstance(d, str):
            evidence.append(f"{sym} ({DIVERSIFIERS[sym]}): not judged, {d}")
            continue
        metrics += [
            Metric(f"{sym}_return_window", d.window_return, "fraction", t),
            Metric(f"{sym}_fell_below", d.fell_below, "fraction", t),
            Metric(f"{sym}_effectiveness", d.effectiveness, "fraction (rho^2)", t),
            Metric(f"{sym}_effectiveness_median", d.effectiveness_median, "fraction (rho^2)", t),
            Metric(f"{sym}_collapse_below", d.collapse_below, "fraction (rho^2)", t),
        ]
        evidence.append(_line(d, th))
    evidence += [
        f"stress window: the last {days} days, when BTC fell over them and closes {th.stress_drawdown:.0%}+ below "
        f"its highest close of the last {th.high_lookback_days} days",
        f"each diversifier against its own {th.reference_days} days before the decline began (BTC's high) or "
        "before its correlation window: nothing from the decline itself",
        f"alignment: {ALIGNMENT}",
    ]
    summary = ", ".join(f"{s} {pct(d.window_return)}" for s, d in judged.items())
    if not st.stress:
        why = (
            f"BTC {pct(st.drawdown)} from its {th.high_lookback_days}-day high (stress from {pct(-th.stress_drawdown)})"
            if st.drawdown > -th.stress_drawdown
            else f"BTC {pct(st.window_return)} over the last {days} days ({pct(st.drawdown)} from its high)"
        )
        status, headline = Status.DOES_NOT_HOLD, f"no stress window: {why}"
    elif len(judged) < th.min_judged:
        status = Status.NOT_ENOUGH_DATA
        headline = f"stress window, but only {len(judged)} of {len(DIVERSIFIERS)} diversifiers have enough data"
    elif len(failed) == len(judged):
        status = Status.HOLDS
        headline = (
            f"the diversifiers failed with BTC ({pct(st.window_return)} in {days} days, {pct(st.drawdown)} from "
            f"its high): {summary}; only a hedge on BTC itself is left"
        )
    else:
        held = ", ".join(f"{s} {pct(d.window_return)}" for s, d in judged.items() if s not in failed)
        status = Status.DOES_NOT_HOLD
        headline = (
            f"not every diversifier failed: {held} did not (no fall beyond its own {th.fell_quantile:.0%} quantile "
            f"of weeks, no collapse) while BTC fell {pct(st.window_return)} in {days} days ({pct(st.drawdown)} "
            "from its high)"
        )
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
