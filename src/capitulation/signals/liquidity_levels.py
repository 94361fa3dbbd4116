"""Signal 4, liquidity levels: have the long-liquidation levels below the market been swept?

Holds when a long-liquidation flush happened in the last `recent_days` and price has not climbed back
above it:

    rank  = (number of trailing-year days with less long liquidation than the largest day of the last
             `recent_days`, + 1 for that day) / days in the trailing year       (a percentile rank, 0..1]
    holds = rank >= threshold  and  spot < the close of the day before that largest day

The daily long liquidations are the observed ones (CoinGlass's all-exchange aggregate, `liquidations`,
in USD) while they are fresh and reach back `min_history_days`; otherwise the liquidation map's modelled
ones (analytics.liquidation_map) as a share of the open positions (swept long BTC / open BTC), so that
maps on different OI histories read alike: the map of the calibration history (the one beside the
observed liquidations) on its days, the current map's after it. The threshold is learned walk-forward:
the lower quartile of the ranks the same series had at the troughs of the past confirmed drawdowns of
20 %+ (known before as_of), as signal 1 learns its flush ratio; `fallback_rank` while fewer than
`min_troughs` troughs are known.

Beside it, the calibrated map: the open long-liquidation mass near spot, its largest clusters, and the
model's daily liquidations against the observed ones over the trailing year (correlation, and the scale
that turns the model's USD into the observed series' USD, fitted on days before as_of only).

The map is replayed on one step per UTC day (the last OI stamp of each day, and a last step to the
latest close with OI held), so that every OI history, and the calibration, share one time scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from capitulation.analytics import events
from capitulation.analytics.levels import Level
from capitulation.analytics.liquidation_map import (
    Calibration,
    LiquidationModel,
    calibrate,
    clusters,
    daily_liquidations,
    out_of_sample,
    run_map,
)
from capitulation.formats import pct, usd
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, aggregate_liquidations, btc_drawdowns, closes, oi_series
from capitulation.snapshot import Snapshot
from capitulation.tables import DAY_CLOSE, LIQUIDATIONS
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "liquidity_levels", "Liquidity levels"


@dataclass(frozen=True)
class Thresholds:
    # The flush: a long-liquidation day in the last month; the 2021-2025 troughs came 0-29 days after the
    # largest long-liquidation day before them (CoinGlass, liquidations/): a window set on that whole
    # history, not learned walk-forward.
    recent_days: int = 30
    # The distribution a day is ranked in: one year, as signal 1's trailing distributions.
    trailing_days: int = 365
    # Fewer ranked days than this (a series just started): no distribution, no rank. Three weeks: the
    # fewest in which a day can stand out; Binance's OI (from 2025-08-16) reaches it after its warm-up.
    min_history_days: int = 20
    # None: learned (module docstring); a number fixes the rank a flush must reach.
    rank: float | None = None
    # The quantile of the past troughs' ranks taken as the threshold: their lower quartile (as signal 1).
    trough_quantile: float = 0.25
    min_troughs: int = 4
    # Before four troughs are known: a day in the top tenth of its year.
    fallback_rank: float = 0.9
    # The troughs learned from: drawdowns of 20 %+ (analytics.events.drawdowns), confirmed ones only.
    drawdown: float = 0.2
    # Observed liquidations and OI older than this (days) are stale at as_of.
    max_age_days: float = 2.0
    # An OI history must reach back this far (days) to be replayed (analytics.events.current_oi).
    oi_min_days: float = 30.0
    # OI held at the map's first stamp is spread over this many daily closes before it (time-weighted).
    warmup_days: int = 30
    # The open long-liquidation mass within this fraction below spot is shown beside the verdict.
    near: float = 0.10
    # The modelled-vs-observed scale and correlations: fitted on the trailing year before as_of.
    calibration_days: int = 365
    min_calibration_days: int = 60


DEFAULT_MODEL = LiquidationModel()

Fits = tuple[Calibration | None, Calibration | None]
"""Long and short calibrations (None where too few common days)."""


@dataclass(frozen=True)
class Replay:
    """The model replayed on one OI history: per-day modelled liquidations (analytics.liquidation_map.
    daily_liquidations), the path's last price of each day (USD), the open cohorts and the last OI (BTC)."""

    name: str
    daily: pd.DataFrame
    closes: pd.Series
    cohorts: pd.DataFrame
    oi_btc: float
    open_btc: float

    def share(self, burn_in_days: int) -> pd.Series:
        """Long liquidations as a share of the open positions, per day (fraction), from `burn_in_days` after
        the replay's first day: the sweeps of the first days depend on where the OI held before the window
        was placed."""
        s = (self.daily["long_btc"] / self.daily["open_btc"]).dropna()
        return s[s.index >= self.daily.index[0] + pd.Timedelta(days=burn_in_days)]


def replay(h: events.OiSeries, btc: pd.Series, th: Thresholds, model: LiquidationModel, extend: bool) -> Replay:
    """Replay OI history `h` (module docstring): one step per UTC day, the venue's implied price
    oi_usd / oi_btc at the stamp (for an aggregate converted at the close, that close), else the close known
    then; with `extend`, a last step to the daily close known after the last stamp, OI held. The OI held at
    the first stamp is placed over the `warmup_days` closes before it."""
    oi = h.oi_btc.dropna()
    implied = (h.oi_usd.reindex(oi.index) / oi) if h.oi_usd is not None else pd.Series(np.nan, index=oi.index)
    price = implied.where(implied > 0).fillna(events.close_known_at(btc, oi.index))
    last = ~((oi.index - pd.Timedelta(seconds=1)).floor("D").duplicated(keep="last"))
    oi, price = oi[last], price[last]
    known = btc.index + DAY_CLOSE
    if extend and known[-1] > oi.index[-1]:
        oi = pd.concat([oi, pd.Series([oi.iloc[-1]], index=[known[-1]])])
        price = pd.concat([price, pd.Series([float(btc.iloc[-1])], index=[known[-1]])])
    ok = price.notna().to_numpy()
    oi, price = oi[ok], price[ok]
    warm = btc[known < oi.index[0]].iloc[-th.warmup_days :]
    run = run_map(oi, price, model, warm.to_numpy())
    day_close = price.groupby((price.index - pd.Timedelta(seconds=1)).floor("D")).last()
    return Replay(h.name, daily_liquidations(run), day_close, run.cohorts, float(oi.iloc[-1]), float(run.open_btc[-1]))


@dataclass(frozen=True)
class LiquidationMap:
    """The model on the most direct fresh OI history at as_of, with its calibration against observed
    liquidations.

    `longs`/`shorts`: open clusters (analytics.liquidation_map.clusters) below/above `spot`; `current`: the
    replay behind them; `calibration`: the long and short fits (None where too few common days) on the
    replay `reference` of the OI history with the most days beside the observed liquidations of their last
    year (None without observed liquidations); `out_of_sample`: that replay's walk-forward scores over all
    observed days (analytics.liquidation_map.out_of_sample)."""

    spot: float
    spot_table: str
    longs: pd.DataFrame
    shorts: pd.DataFrame
    current: Replay
    reference: Replay | None
    calibration: Fits
    out_of_sample: Fits

    @property
    def venue(self) -> str:
        return self.current.name

    def scale(self, side: str = "long") -> float | None:
        """The calibrated scale of `side` (observed USD per modelled USD), None when not fitted."""
        fit = self.calibration[0 if side == "long" else 1]
        return None if fit is None else fit.scale


def observed_liquidations(snap: Snapshot) -> pd.DataFrame | None:
    """The all-exchange aggregate's daily BTC liquidations (long_usd, short_usd, total_usd by day), or None."""
    if snap.get("liquidations") is None:
        return None
    agg = aggregate_liquidations(snap)
    return None if agg.empty else agg


def _calibration(
    histories: list[events.OiSeries],
    current: Replay,
    btc: pd.Series,
    observed: pd.DataFrame | None,
    th: Thresholds,
    model: LiquidationModel,
) -> tuple[Replay | None, Fits, Fits]:
    """The replay of the OI history with the most days among the last `calibration_days` of observed
    liquidations (the current one when it ties), its fits on them, and its walk-forward scores over all the
    observed days (each day scaled by the `calibration_days` before it)."""
    if observed is None:
        return None, (None, None), (None, None)
    days = observed.index
    start = days[-1] - pd.Timedelta(days=th.calibration_days)
    recent = days[days > start]

    recent_ns, day = _ns(recent), pd.Timedelta(days=1).as_unit("ns").value

    def overlap(h: events.OiSeries) -> int:  # the recent days with a stamp of h (a stamp counts on the day of s - 1 s)
        stamps = _ns(h.oi_btc.dropna().index)
        return int(np.isin(recent_ns, (stamps - _ns(pd.Timedelta(seconds=1))) // day * day).sum())

    overlaps = {h.name: overlap(h) for h in histories}
    best = max(histories, key=lambda h: (overlaps[h.name], h.name == current.name))
    if overlaps[best.name] < th.min_calibration_days:
        return None, (None, None), (None, None)
    ref = current if best.name == current.name else replay(best, btc, th, model, extend=False)
    daily = ref.daily[ref.daily.index > start]
    n = th.min_calibration_days
    fits = [calibrate(daily[f"{s}_usd"], observed[f"{s}_usd"], s, n) for s in ("long", "short")]
    scored = [
        out_of_sample(ref.daily[f"{s}_usd"], observed[f"{s}_usd"], s, th.calibration_days, n) for s in ("long", "short")
    ]
    return ref, (fits[0], fits[1]), (scored[0], scored[1])


def liquidation_map(
    snap: Snapshot, th: Thresholds = Thresholds(), model: LiquidationModel = DEFAULT_MODEL
) -> LiquidationMap | str:
    """The model replayed on the most direct fresh OI history at as_of (events.current_oi), calibrated
    against the observed liquidations; or why there is none."""
    perps = snap.get("perp_metrics")
    if perps is None:
        return "no perp open-interest data"
    btc = closes(snap, BTC)
    if btc.empty:
        return "no BTC-USD closes to convert open interest and place the OI held before the window"
    histories = oi_series(snap)
    h = events.current_oi(histories, snap.as_of, th.max_age_days, th.oi_min_days)
    if h is None:
        return (
            f"no OI history in BTC fresher than {th.max_age_days:g} days reaching back {th.oi_min_days:g} days "
            f"at {snap.as_of:%Y-%m-%d}"
        )
    current = replay(h, btc, th, model, extend=True)
    spot = float(current.closes.iloc[-1])
    spot_table = "daily_prices" if current.closes.index[-1] == btc.index[-1] else "perp_metrics"
    cl = clusters(current.cohorts, spot, model.bucket_fraction)
    reference, fits, scored = _calibration(histories, current, btc, observed_liquidations(snap), th, model)
    return LiquidationMap(
        spot,
        spot_table,
        cl[(cl["side"] == "long") & (cl["price"] < spot)].reset_index(drop=True),
        cl[(cl["side"] == "short") & (cl["price"] > spot)].reset_index(drop=True),
        current,
        reference,
        fits,
        scored,
    )


@dataclass(frozen=True)
class Flush:
    """The largest long-liquidation day of the last `recent_days` (its value in the series' unit) and its
    rank in the trailing year, with the close of the day before it (USD)."""

    day: pd.Timestamp
    value: float
    rank: float
    ranked_days: int
    close_before: float


def flush(daily: pd.Series, close: pd.Series, as_of: pd.Timestamp, th: Thresholds) -> Flush | None:
    """The flush figures of a daily long-liquidation series (by day) at `as_of` (module docstring); None
    without `min_history_days` days in the trailing year or a close before the flush day. Both series are
    ascending in time."""
    return _flushes(daily, close, [as_of], th)[0]


def _ns(t: pd.Timestamp | pd.Timedelta | pd.DatetimeIndex) -> int | np.ndarray:
    """Nanoseconds (since the epoch for times)."""
    return t.as_unit("ns").asi8 if isinstance(t, pd.Index) else t.as_unit("ns").value


def _flushes(daily: pd.Series, close: pd.Series, times: Sequence[pd.Timestamp], th: Thresholds) -> list[Flush | None]:
    """`flush` at each of `times`, on the series' values taken out once."""
    known = np.flatnonzero(daily.notna().to_numpy())  # positions of the days with a value
    t, v = _ns(daily.index)[known], daily.to_numpy(dtype=float)[known]
    close_t, close_v = _ns(close.index), close.to_numpy(dtype=float)
    day_ns = pd.Timedelta(days=1).as_unit("ns").value
    out: list[Flush | None] = []
    for as_of in times:
        end = _ns((as_of - DAY_CLOSE).floor("D"))
        lo, hi = t.searchsorted(end - th.trailing_days * day_ns, "right"), t.searchsorted(end, "right")
        first = max(lo, int(t.searchsorted(end - th.recent_days * day_ns, "right")))  # the recent days: [first, hi)
        if hi - lo < th.min_history_days or first >= hi:
            out.append(None)
            continue
        recent = v[first:hi]
        top = float(recent.max())
        day = daily.index[known[first + int(recent.argmax())]]
        before = int(close_t.searchsorted(_ns(day)))  # closes dated before the flush day
        year = v[lo:hi]
        rank = (int((year < top).sum()) + 1) / len(year)
        out.append(None if not before else Flush(day, top, rank, len(year), float(close_v[before - 1])))
    return out


def learned_rank(
    daily: pd.Series,
    close: pd.Series,
    as_of: pd.Timestamp,
    th: Thresholds,
    swings: Sequence[events.Swing] | None = None,
) -> tuple[float, str, list[float]]:
    """The rank a flush must reach: `th.rank` when set, else the `trough_quantile` of the ranks `daily` had at
    the troughs of the confirmed drawdowns of the BTC closes `close` known at as_of (module docstring), else
    `fallback_rank`. `swings`: `events.drawdowns(close, th.drawdown)` when already computed."""
    if th.rank is not None:
        return th.rank, "configured", []
    ranks: list[float] = []
    if len(close) >= 2:
        troughs = [
            sw.trough_date + DAY_CLOSE
            for sw in (events.drawdowns(close, th.drawdown) if swings is None else swings)
            if sw.confirmed and sw.trough_date + DAY_CLOSE <= as_of
        ]
        # closes after a trough are never read: the flush day is before it
        ranks = [f.rank for f in _flushes(daily, close, troughs, th) if f is not None]
    if len(ranks) < th.min_troughs:
        why = f"fallback: {len(ranks)} past confirmed troughs with this series, fewer than {th.min_troughs}"
        return th.fallback_rank, why, ranks
    q = float(np.quantile(ranks, th.trough_quantile))
    why = (
        f"the {th.trough_quantile:.0%} quantile of the ranks at the troughs of the {len(ranks)} past confirmed "
        f"drawdowns of {th.drawdown:.0%}+ with this series"
    )
    return q, why, ranks


def _swings(snap: Snapshot, btc: pd.Series, th: Thresholds) -> list[events.Swing]:
    """BTC's drawdowns of `th.drawdown`+ (none with fewer than 2 closes)."""
    return btc_drawdowns(snap, th.drawdown) if len(btc) >= 2 else []


@dataclass(frozen=True)
class _Series:
    """The daily long liquidations a verdict is decided on, the series of the same kind its threshold is
    learned on (reaching back over past troughs), with the closes, unit and tables behind them."""

    what: str
    daily: pd.Series
    reference: pd.Series
    close: pd.Series
    unit: str
    tables: tuple[str, ...]


def _series(
    snap: Snapshot, btc: pd.Series, observed: pd.DataFrame | None, lm: LiquidationMap | str, th: Thresholds
) -> _Series | str:
    """Observed liquidations while fresh and long enough, else the map's share series; or why neither."""
    why: list[str] = []
    if observed is None:
        why.append("no observed liquidations")
    else:
        age = LIQUIDATIONS.age_days(snap.as_of, observed.index[-1])
        if age > th.max_age_days:
            why.append(f"observed liquidations end {observed.index[-1]:%Y-%m-%d} ({age:.0f} days old)")
        elif flush(observed["long_usd"], btc, snap.as_of, th) is None:
            why.append(f"observed liquidations cover fewer than {th.min_history_days} days")
        else:
            what = "observed long liquidations (CoinGlass all-exchange aggregate)"
            long_usd = observed["long_usd"]
            return _Series(what, long_usd, long_usd, btc, "USD", ("liquidations", "daily_prices"))
    if isinstance(lm, str):
        return "; ".join([*why, f"no liquidation map: {lm}"])
    what = (
        f"modelled long liquidations as a share of the open positions (map on {lm.venue}, ranked from "
        f"{th.warmup_days} days after its start)"
    )
    close = btc.combine_first(lm.current.closes)
    reference = lm.current if lm.reference is None else lm.reference
    return _Series(
        what,
        lm.current.share(th.warmup_days),
        reference.share(th.warmup_days),
        close,
        "fraction of open positions",
        ("perp_metrics", "daily_prices"),
    )


def fit(snap: Snapshot, th: Thresholds = Thresholds(), model: LiquidationModel = DEFAULT_MODEL) -> Thresholds:
    """`th` with its learned rank fixed at the value `snap`'s history gives for the series it decides on
    then; unchanged when configured or when no series is usable at `snap`."""
    if th.rank is not None:
        return th
    btc = closes(snap, BTC)
    chosen = _series(snap, btc, observed_liquidations(snap), liquidation_map(snap, th, model), th)
    if isinstance(chosen, str):
        return th
    return replace(th, rank=learned_rank(chosen.reference, btc, snap.as_of, th, _swings(snap, btc, th))[0])


def evaluate(snap: Snapshot, th: Thresholds = Thresholds(), model: LiquidationModel = DEFAULT_MODEL) -> Verdict:
    btc = closes(snap, BTC)
    lm = liquidation_map(snap, th, model)
    chosen = _series(snap, btc, observed_liquidations(snap), lm, th)
    if isinstance(chosen, str):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, chosen)
    f = flush(chosen.daily, chosen.close, snap.as_of, th)
    if f is None:
        return not_enough_data(
            SIGNAL, TITLE, snap.as_of, f"{chosen.what}: fewer than {th.min_history_days} days in the trailing year"
        )
    limit, why, ranks = learned_rank(chosen.reference, btc, snap.as_of, th, _swings(snap, btc, th))
    spot = float(chosen.close.iloc[-1])
    swept, below = f.rank >= limit, spot < f.close_before
    holds = swept and below
    t = chosen.tables[:1]
    metrics = [
        Metric("spot", spot, "USD", chosen.tables[1:]),
        Metric("flush_day_long", f.value, chosen.unit, t),
        Metric("flush_rank", f.rank, "fraction", t),
        Metric("flush_rank_threshold", limit, "fraction", t),
        Metric("close_before_flush", f.close_before, "USD", chosen.tables[1:]),
    ]
    value = f"{usd(f.value)} of longs" if chosen.unit == "USD" else f"longs worth {f.value:.2%} of the OI (model)"
    evidence = [
        f"{chosen.what}: largest day of the last {th.recent_days} days {f.day:%Y-%m-%d} {value}, rank "
        f"{f.rank:.0%} of the {f.ranked_days} days of the trailing year",
        f"threshold {limit:.0%}: {why}" + (f" (ranks {', '.join(f'{r:.2f}' for r in ranks)})" if ranks else ""),
        f"spot ${spot:,.0f} {'below' if below else 'above'} the close before the flush (${f.close_before:,.0f})",
    ]
    levels: list[Level] = []
    if isinstance(lm, LiquidationMap):
        map_metrics, map_evidence, levels = _map_figures(lm, th, model)
        metrics += map_metrics
        evidence += map_evidence
    else:
        evidence.append(f"liquidation map: {lm}")
    if holds:
        headline = (
            f"long levels swept: {value} liquidated {f.day:%Y-%m-%d} (rank {f.rank:.0%} of the year, "
            f"threshold {limit:.0%}), price still below the ${f.close_before:,.0f} it fell from"
        )
    elif swept:
        headline = (
            f"flush of {f.day:%Y-%m-%d} ({value}, rank {f.rank:.0%}) recovered: spot ${spot:,.0f} is above the "
            f"${f.close_before:,.0f} it fell from"
        )
    else:
        headline = (
            f"no long flush in {th.recent_days} days: the largest day ({f.day:%Y-%m-%d}, {value}) ranks "
            f"{f.rank:.0%} of the year, threshold {limit:.0%}"
        )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(
        SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), chosen.tables, tuple(levels)
    )


def _map_figures(
    lm: LiquidationMap, th: Thresholds, model: LiquidationModel
) -> tuple[list[Metric], list[str], list[Level]]:
    """The calibrated map beside the verdict: open long mass near spot, largest clusters, the calibration."""
    t = ("perp_metrics",)
    longs, shorts = lm.longs, lm.shorts
    near = float(longs.loc[longs["distance"] >= -th.near, "notional_usd"].sum())
    total = float(longs["notional_usd"].sum())
    share = near / total if total > 0 else 0.0
    cur = lm.current
    metrics = [
        Metric("model_oi_btc", cur.oi_btc, "BTC", t),
        Metric("model_open_btc", cur.open_btc, "BTC", t),
        Metric("long_liq_within_near_usd", near, "USD", t),
        Metric("long_liq_open_usd", total, "USD", t),
        Metric("long_liq_near_share", share, "fraction", t),
    ]
    evidence = [
        f"liquidation map on {lm.venue}: open mass {cur.open_btc:,.0f} BTC = OI {cur.oi_btc:,.0f} BTC; "
        f"{usd(near)} of long liquidations within {th.near:.0%} below ${lm.spot:,.0f} ({share:.0%} of the open "
        f"long mass {usd(total)}); new OI split {model.long_share:.0%} long over "
        + ", ".join(f"{lev:g}x {w:.0%}" for lev, w in model.tiers)
    ]
    cal = ("liquidations", *t)
    for fit in lm.calibration:
        if fit is not None:
            metrics += [
                Metric(f"calibration_{fit.side}_scale", fit.scale, "observed USD per modelled USD", cal),
                Metric(f"calibration_{fit.side}_correlation", fit.correlation, "Pearson", cal),
            ]
    fits = [fit.describe() for fit in lm.calibration if fit is not None]
    scored = [fit.describe() for fit in lm.out_of_sample if fit is not None]
    if fits and lm.reference is not None:
        evidence += [
            f"calibration on {lm.reference.name} over the trailing year of observed liquidations, modelled vs "
            "observed daily: " + "; ".join(fits),
            f"walk-forward (each day x the scale of the {th.calibration_days} days before it), predicted vs "
            "observed: " + ("; ".join(scored) if scored else "too few days"),
            COVERAGE,
        ]
    else:
        evidence.append("calibration: too few days of observed liquidations beside an OI history")
    levels: list[Level] = []
    for side, frame in (("long", longs), ("short", shorts)):
        for r in frame.head(3).itertuples():
            levels.append(Level(float(r.price), f"est. {side} liquidations {usd(r.notional_usd)}", SIGNAL, t))
            evidence.append(f"{side} cluster at ${r.price:,.0f} ({pct(r.distance)}): {usd(r.notional_usd)}")
    if not longs.empty:
        metrics.append(Metric("largest_long_cluster_price", float(longs["price"].iloc[0]), "USD", t))
    if not shorts.empty:
        metrics.append(Metric("largest_short_cluster_price", float(shorts["price"].iloc[0]), "USD", t))
    return metrics, evidence, levels


COVERAGE = (
    "coverage: the observed series is CoinGlass's all-exchange BTC liquidations; the OI histories are either "
    "an all-exchange aggregate that also holds venues with no liquidation feed (CME has none) and "
    "coin-margined contracts, i.e. more positions than the observed liquidations cover (one reason the "
    "scale is below 1), or one venue (Binance USDT-M), i.e. fewer; Binance publishes at most one "
    "liquidation order per symbol per second, so observed totals are lower bounds"
)
"""What the observed liquidations and the OI the map runs on cover, said beside every calibration."""

INTO_TROUGH_COLUMNS = ["long_liquidations_usd", "largest_long_day", "largest_long_usd", "flush_rank"]


def into_troughs(
    snap: Snapshot, declines: pd.DataFrame, th: Thresholds = Thresholds(), days_after: int = 3
) -> pd.DataFrame:
    """Observed long liquidations into each decline of an event-study table (peak_date, trough_date): their
    sum from the peak day to `days_after` days after the trough (USD), the largest day and its value, and
    that day's flush rank at the trough (module docstring). NaN where the observed series does not cover the
    whole decline."""
    observed = observed_liquidations(snap)
    btc = closes(snap, BTC)
    rows = []
    for r in declines.itertuples():
        end = r.trough_date + pd.Timedelta(days=days_after)
        row: dict[str, object] = dict.fromkeys(INTO_TROUGH_COLUMNS, np.nan)
        if observed is not None and observed.index[0] <= r.peak_date:
            s = observed.loc[(observed.index >= r.peak_date) & (observed.index <= end), "long_usd"]
            if not s.empty:
                f = flush(observed["long_usd"], btc[btc.index <= r.trough_date], r.trough_date + DAY_CLOSE, th)
                row |= {
                    "long_liquidations_usd": float(s.sum()),
                    "largest_long_day": s.idxmax(),
                    "largest_long_usd": float(s.max()),
                    "flush_rank": np.nan if f is None else f.rank,
                }
        rows.append(row)
    return pd.DataFrame(rows, columns=INTO_TROUGH_COLUMNS, index=declines.index)
