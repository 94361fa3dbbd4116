"""Signal 3, options stress: are next-day and weekly puts bid over calls, and are dealers short gamma?

With a fresh option chain (at most `max_age_days` old) it holds when the constant-maturity 25-delta risk
reversal (call IV - put IV) at 1 or 7 days is at or below the threshold; the 15-delta risk reversals at
the same maturities are reported beside it, with dealer gamma (default positioning "classic": dealers long
calls, short puts; the model used is named in the evidence: GEX < 0 means they sell into declines) and
DVOL. Without a fresh chain, DVOL decides ("from DVOL", `analytics.vol_regime`): it holds when the index's
14-day high ranks in the top of its trailing year at least as high as at the median past trough (learned
from the confirmed 20 % drawdowns before as_of) while BTC fell over those 14 days.

`summarize` gathers the options figures of one chain (smile per expiry, constant-maturity term
structure, GEX, flip, walls, max pain); the verdict and the `options` command both read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import pandas as pd

from capitulation.analytics.chain import PreparedChain, prepare
from capitulation.analytics.gex import (
    PROFILE_GRID,
    PROFILE_POINTS,
    Dealer,
    GexResult,
    Sticky,
    Walls,
    gamma_profile,
    gex_by_strike,
    max_pain,
    walls,
)
from capitulation.analytics.levels import Level
from capitulation.analytics.smile import DAYS, DELTAS, constant_maturity, risk_reversals
from capitulation.analytics.vol_regime import VolState, ranks_at, vol_state
from capitulation.errors import DataError
from capitulation.formats import usd
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, btc_drawdowns, closes
from capitulation.snapshot import Snapshot, utc
from capitulation.tables import VOL_INDEX
from capitulation.timeutil import DAYS_PER_YEAR
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "options_stress", "Options stress"


@dataclass(frozen=True)
class Thresholds:
    # Puts 5 vol points over calls at 25 delta on a one-week horizon: panic hedging, well outside the
    # usual BTC range of about -3..+3 vol points.
    rr25: float = -0.05
    max_age_days: float = 2.0
    dealer: Dealer = "classic"
    grid: float = PROFILE_GRID  # GEX profile over spot x (1 -/+ 20 %)
    # DVOL, when no chain is fresh: a two-week spike (a cascade plays out within days) ranked in the trailing
    # year (DVOL's own regime: 45 % was high in 2023, low in 2021).
    dvol_window_days: int = 14
    dvol_history_days: int = 365
    dvol_min_history: int = 90  # a quarter of closes before a rank means anything (DVOL starts 2021-03-24)
    # None: the median of the ranks at past confirmed troughs of 20 %+ drawdowns (walk-forward); the fallback
    # (the year's top quintile) while fewer than `min_troughs` such troughs are known.
    dvol_rank: float | None = None
    dvol_fallback_rank: float = 0.8
    min_troughs: int = 4
    dvol_max_age_days: float = 2.0


@dataclass(frozen=True)
class OptionsSummary:
    """The options figures of the latest chain; vols are fractions, GEX USD per 1 % move.

    `smile`: `risk_reversals` rows (one per expiry, or the selected one); `term`: `constant_maturity`
    of the whole chain at 1/7/30/90 days; `gex`, `profile` (sticky as named), `flip`, `walls`,
    `max_pain` cover the selected expiry or, without one, every expiry. `dealer`: the positioning model's
    name (`gex.DEALER_MODELS`; `gex.dealer` describes it).
    """

    timestamp: pd.Timestamp
    spot: float
    expiry: pd.Timestamp | None
    sticky: Sticky
    dealer: Dealer
    smile: pd.DataFrame
    term: pd.DataFrame
    gex: GexResult
    profile: pd.DataFrame
    flip: float
    walls: Walls
    max_pain: pd.DataFrame

    UNITS = "vols and vol spreads are fractions (0.01 = 1 vol point); USD; GEX and hedge flow per 1% move"

    def as_dict(self) -> dict[str, object]:
        """The summary as plain values (`UNITS`; times ISO UTC; NaN where a figure is absent, for the writer
        to map): chain_timestamp, reference_spot_usd, expiry, the dealer model, `expiries` (the smile per
        expiry with its forward, max pain and GEX), `constant_maturity`, `gex` (totals, flip, walls, sticky)
        and the nearest expiry's `max_pain`. The `options --json` output, less the snapshot's own fields."""
        keys = ["atm_iv"] + [f"{k}{round(d * 100)}" for d in DELTAS for k in ("rr", "bf")]
        pain = self.max_pain.set_index("expiry")["max_pain"]
        gex_by_expiry = self.gex.by_strike.groupby("expiry")["gex_usd"].sum()
        expiries = [
            {
                "expiry": r["expiry"].isoformat(),
                "days": float(r["t_years"] * DAYS_PER_YEAR),
                "forward_usd": float(r["forward"]),
                **{k: float(r[k]) for k in keys},
                "max_pain_usd": float(pain.get(r["expiry"], float("nan"))),
                "gex_usd_per_1pct": float(gex_by_expiry.get(r["expiry"], 0.0)),
            }
            for _, r in self.smile.iterrows()
        ]
        nearest = self.max_pain.iloc[0] if len(self.max_pain) else None
        return {
            "chain_timestamp": self.timestamp.isoformat(),
            "reference_spot_usd": self.spot,
            "expiry": None if self.expiry is None else self.expiry.isoformat(),
            "dealer_model": self.dealer,
            "dealer_description": self.gex.dealer,
            "units": self.UNITS,
            "expiries": expiries,
            "constant_maturity": [
                {"days": int(r["days"]), **{k: float(r[k]) for k in keys}} for _, r in self.term.iterrows()
            ],
            "gex": {
                **self.gex.totals(),
                "gamma_flip_usd": self.flip,
                **self.walls.as_dict(),
                "sticky": self.sticky,
            },
            "max_pain": None
            if nearest is None
            else {"expiry": nearest["expiry"].isoformat(), "strike_usd": float(nearest["max_pain"])},
        }


def summarize(
    quotes: pd.DataFrame | PreparedChain,
    dealer: Dealer = "classic",
    expiry: str | pd.Timestamp | None = None,
    trades: pd.DataFrame | None = None,
    sticky: Sticky = "strike",
    grid: float = PROFILE_GRID,
    points: int = PROFILE_POINTS,
) -> OptionsSummary:
    """Smile, term structure and dealer gamma of the latest chain in `quotes`.

    The GEX profile spans spot x (1 -/+ grid) in `points` steps; the flip is `gex.gamma_profile`'s, the
    crossing nearest spot solved exactly (the same whatever the grid that brackets it).
    `expiry` (a settlement time, or a bare date matching the expiry on that UTC day) restricts everything
    but the term structure to that expiry, re-using the whole chain's reference spot. `DataError` for an
    empty chain, or an expiry not in it (the message lists the available ones). The chain is prepared once
    (`chain.prepare`: latest rows, year fractions, call deltas, S0) for every figure; pass a `PreparedChain`
    to share that preparation between summaries.
    """
    chain = prepare(quotes, "options summary")
    s0 = chain.spot
    chosen = None if expiry is None else _pick_expiry(chain.rows, expiry)
    part = chain if chosen is None else chain.select(chosen)
    rr = risk_reversals(chain)
    g = gex_by_strike(part, dealer=dealer, trades=trades, s0=s0)
    prof = gamma_profile(part, dealer, sticky, trades, s0, grid, points)
    return OptionsSummary(
        timestamp=chain.timestamp,
        spot=s0,
        expiry=chosen,
        sticky=sticky,
        dealer=dealer,
        smile=rr if chosen is None else rr[rr["expiry"] == chosen].reset_index(drop=True),
        term=constant_maturity(rr, DAYS),
        gex=g,
        profile=prof.profile,
        flip=prof.flip,
        walls=walls(g.by_strike),
        max_pain=max_pain(part),
    )


def prepared_chain(snap: Snapshot) -> PreparedChain | None:
    """The snapshot's latest option chain, prepared once per snapshot (`chain.prepare`); None without a chain."""
    quotes = snap.get("option_quotes")
    return None if quotes is None else snap.memo(("prepared_chain",), lambda: prepare(quotes))


def chain_summary(
    snap: Snapshot,
    dealer: Dealer = "classic",
    sticky: Sticky = "strike",
    grid: float = PROFILE_GRID,
    points: int = PROFILE_POINTS,
) -> OptionsSummary | None:
    """`summarize` of the snapshot's latest chain over every expiry, computed once per snapshot and arguments
    (`Snapshot.memo`): verdict 3, the report's charts and the dashboard read the same one. None without a
    chain; `DataError` as `summarize`."""
    chain = prepared_chain(snap)
    if chain is None:
        return None
    key = ("options_summary", dealer, sticky, grid, points)
    return snap.memo(key, lambda: summarize(chain, dealer, sticky=sticky, grid=grid, points=points))


def _pick_expiry(chain: pd.DataFrame, expiry: str | pd.Timestamp) -> pd.Timestamp:
    """The chain's expiry at that time, or on that UTC date when given midnight (a bare date)."""
    want = utc(expiry)
    live = [pd.Timestamp(e) for e in sorted(chain["expiry"].unique())]
    hits = [e for e in live if e == want or (want == want.normalize() and e.normalize() == want)]
    if not hits:
        listed = ", ".join(f"{e:%Y-%m-%d}" for e in live)
        raise DataError(
            f"expiry {expiry} is not in the chain of {chain['timestamp'].max():%Y-%m-%d %H:%M} UTC; available: {listed}"
        )
    return hits[0]


@dataclass(frozen=True)
class Dvol:
    """DVOL at as_of (`analytics.vol_regime.VolState`) with the rank it must reach and where that came from."""

    state: VolState
    threshold: float
    why: str

    @property
    def stressed(self) -> bool:
        return self.state.rank >= self.threshold and self.state.btc_return < 0

    def metrics(self) -> list[Metric]:
        t = ("vol_index", "daily_prices")
        s = self.state
        return [
            Metric("dvol_close", s.close, "fraction", ("vol_index",)),
            Metric("dvol_high_14d", s.recent_high, "fraction", ("vol_index",)),
            Metric("dvol_rank_1y", s.rank, "fraction", ("vol_index",)),
            Metric("dvol_change_14d", s.change, "fraction (vol points / 100)", ("vol_index",)),
            Metric("dvol_rank_threshold", self.threshold, "fraction", t),
            Metric("btc_return_14d", s.btc_return, "fraction", ("daily_prices",)),
        ]

    def evidence(self) -> str:
        s = self.state
        return (
            f"DVOL {s.close:.1%} on {s.date:%Y-%m-%d} ({s.change * 100:+.1f} vol pts in 14 days); its 14-day high "
            f"{s.recent_high:.1%} ranks above {s.rank:.0%} of the last {s.history} days; BTC {s.btc_return:+.1%} "
            f"over 14 days; threshold rank {self.threshold:.0%} ({self.why})"
        )


def dvol(snap: Snapshot, th: Thresholds) -> Dvol | str:
    """DVOL's stress reading at as_of, or why there is none (absent, stale, too short a history)."""
    vi = snap.get("vol_index")
    btc = closes(snap, BTC)
    if vi is None:
        return "no DVOL history"
    if btc.empty:
        return "no BTC closes to tell a fall from a rally"
    vol = vi.set_index("date")["close"].sort_index()
    kw = {"window_days": th.dvol_window_days, "history_days": th.dvol_history_days}
    state = vol_state(vol, btc, snap.as_of, **kw)
    age = VOL_INDEX.age_days(snap.as_of, state.date)
    if age > th.dvol_max_age_days:
        return f"DVOL ends {state.date:%Y-%m-%d}, {age:.0f} days before as_of"
    if state.history < th.dvol_min_history:
        return f"only {state.history} days of DVOL (need {th.dvol_min_history} to rank it)"
    if th.dvol_rank is not None:
        return Dvol(state, th.dvol_rank, "configured")
    first = vol.index[0] + pd.Timedelta(days=th.dvol_min_history)
    troughs = [sw.trough_date for sw in btc_drawdowns(snap, 0.2) if sw.confirmed and sw.trough_date >= first]
    ranks = ranks_at(vol, btc, troughs, **kw)
    if len(ranks) < th.min_troughs:
        why = f"fallback: {len(ranks)} past troughs with a DVOL history (need {th.min_troughs})"
        return Dvol(state, th.dvol_fallback_rank, why)
    why = f"median of its 14-day-high ranks at the {len(ranks)} past confirmed troughs of 20%+ drawdowns"
    return Dvol(state, float(np.median(ranks)), why)


def fit(snap: Snapshot, th: Thresholds = Thresholds()) -> Thresholds:
    """`th` with its learned DVOL rank fixed at the value `snap`'s history gives; unchanged when configured
    or when DVOL gives no reading at `snap`."""
    if th.dvol_rank is not None:
        return th
    dv = dvol(snap, th)
    return th if isinstance(dv, str) else replace(th, dvol_rank=dv.threshold)


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    quotes = snap.get("option_quotes")
    dv = dvol(snap, th)
    dvol_metrics, dvol_evidence = ([], [f"DVOL: {dv}"]) if isinstance(dv, str) else (dv.metrics(), [dv.evidence()])
    age = snap.age_days("option_quotes")
    if quotes is None or age is None or age > th.max_age_days:
        chain = "no option chain" if quotes is None else f"latest option chain is {age:.0f} days old"
        return _from_dvol(snap, dv, chain, dvol_metrics, dvol_evidence)
    # as the `options` command (one flip, one computation), kept on the snapshot for the report and dashboard
    s = cast(OptionsSummary, chain_summary(snap, th.dealer, grid=th.grid))
    cm, g, w, flip = s.term.set_index("days"), s.gex, s.walls, s.flip
    t = ("option_quotes",)
    metrics = [
        Metric(f"rr{d}_{n}d", float(cm.loc[n, f"rr{d}"]), "fraction (vol points / 100)", t)
        for n in (1, 7)
        for d in (15, 25)
    ]
    metrics += [
        Metric("atm_iv_7d", float(cm.loc[7, "atm_iv"]), "fraction", t),
        Metric("gex_total_usd_per_1pct", g.total_usd, "USD per 1% move", t),
        Metric("hedge_flow_usd_per_1pct_rise", g.hedge_flow_usd, "USD bought (+) / sold (-) per 1% rise", t),
        Metric("gamma_flip", flip, "USD", t),
        Metric("call_wall", w.call_wall, "USD", t),
        Metric("put_wall", w.put_wall, "USD", t),
        Metric("chain_spot", g.spot, "USD", t),
        Metric("bad_quote_rows_dropped", float(_dropped_rows(snap)), "rows", t),
        *dvol_metrics,
    ]
    near = s.smile.head(2)
    evidence = [
        f"chain of {s.timestamp:%Y-%m-%d %H:%M} UTC ({age:.1f} days before as_of), "
        f"{quotes['instrument'].nunique()} instruments, reference spot ${g.spot:,.0f} (nearest expiry's forward)",
        *(
            f"expiry {r.expiry:%d %b %H:%M} ({r.t_years * DAYS_PER_YEAR:.1f}d): RR25 {r.rr25 * 100:+.1f}, RR15 "
            f"{r.rr15 * 100:+.1f} vol pts, ATM {r.atm_iv:.1%}"
            for r in near.itertuples()
        ),
        "constant maturity: "
        + "; ".join(f"{n}d RR25 {cm.loc[n, 'rr25'] * 100:+.1f} RR15 {cm.loc[n, 'rr15'] * 100:+.1f}" for n in (1, 7)),
        f"dealer gamma ({g.dealer}): {usd(g.total_usd)} per 1% move; "
        f"hedge flow {'buys' if g.total_usd > 0 else 'sells'} {usd(abs(g.total_usd))} per 1% fall",
        f"{flip_text(flip)}; call wall ${w.call_wall:,.0f}; put wall ${w.put_wall:,.0f}",
        *_dropped_evidence(snap),
        *dvol_evidence,
    ]
    levels = (
        Level(flip, "gamma flip (dealer GEX = 0)", SIGNAL, t),
        Level(w.call_wall, "call wall (largest call GEX)", SIGNAL, t),
        Level(w.put_wall, "put wall (largest put GEX)", SIGNAL, t),
        *(
            Level(
                float(r.max_pain),
                f"max pain, {r.expiry:%d %b} expiry",
                SIGNAL,
                t,
                "the settlement price that pays option holders least; expiries tend to pin near it",
            )
            for r in s.max_pain.head(1).itertuples()
        ),
    )
    rr25 = [float(cm.loc[n, "rr25"]) for n in (1, 7)]
    rr15 = [float(cm.loc[n, "rr15"]) for n in (1, 7)]
    finite = [x for x in rr25 if np.isfinite(x)]
    if not finite:
        return _from_dvol(snap, dv, "25-delta risk reversal not quoted at 1d or 7d", dvol_metrics, dvol_evidence)
    holds = min(finite) <= th.rr25
    headline = (
        f"{'puts bid' if holds else 'no put panic'}: 25d RR 1d {rr25[0] * 100:+.1f} / 7d {rr25[1] * 100:+.1f}, "
        f"15d RR 1d {rr15[0] * 100:+.1f} / 7d {rr15[1] * 100:+.1f} vol pts; "
        f"dealers {'short' if g.total_usd < 0 else 'long'} gamma ({usd(g.total_usd)} per 1%, {th.dealer})"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=levels)


def flip_text(flip: float) -> str:
    """'gamma flip $88,820', or that there is none (the dealer GEX profile never changes sign)."""
    return f"gamma flip ${flip:,.0f}" if np.isfinite(flip) else "no gamma flip (dealer GEX never changes sign)"


def _dropped_rows(snap: Snapshot) -> int:
    """Bad quote rows the chain's importer dropped (row policy of `tables`), from its provenance."""
    prov = snap.provenance.get("option_quotes")
    return 0 if prov is None else prov.dropped_rows


def _dropped_evidence(snap: Snapshot) -> list[str]:
    n = _dropped_rows(snap)
    return [f"{n} bad quote row(s) dropped from the chain files (rules in the table's provenance notes)"] if n else []


def _from_dvol(snap: Snapshot, dv: Dvol | str, chain: str, metrics: list[Metric], evidence: list[str]) -> Verdict:
    """The verdict when no fresh chain decides: DVOL's reading, or not enough data when DVOL has none."""
    quotes = snap.get("option_quotes")
    if quotes is not None:
        evidence = [
            *evidence,
            f"{chain} ({quotes['timestamp'].max():%Y-%m-%d %H:%M} UTC): its skew and walls are not used",
            *_dropped_evidence(snap),
        ]
    if isinstance(dv, str):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"{chain}; {dv}", *evidence)
    s = dv.state
    what = (
        "vol bid into a fall"
        if dv.stressed
        else ("vol high but BTC not falling" if s.rank >= dv.threshold else "no vol panic")
    )
    headline = (
        f"from DVOL ({chain}): {what}: 14-day high {s.recent_high:.1%} above {s.rank:.0%} of its year "
        f"(bar {dv.threshold:.0%}), BTC {s.btc_return:+.1%} in 14 days"
    )
    status = Status.HOLDS if dv.stressed else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
