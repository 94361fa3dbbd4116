"""Signal 3, options stress: are next-day and weekly puts bid over calls, and are dealers short gamma?

Holds when the constant-maturity 25-delta risk reversal (call IV - put IV) at 1 or 7 days is at or below
the threshold; the 15-delta risk reversals at the same maturities are reported beside it. Dealer gamma
(default positioning "classic": dealers long calls, short puts; the model used is named in the
evidence) says whether their hedging amplifies a fall (GEX < 0: they sell into declines).

`summarize` gathers the options figures of one chain (smile per expiry, constant-maturity term
structure, GEX, flip, walls, max pain); the verdict and the `options` command both read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics.gex import (
    Dealer,
    GexResult,
    Sticky,
    Walls,
    gamma_flip,
    gex_by_strike,
    gex_profile,
    max_pain,
    reference_spot,
    walls,
)
from capitulation.analytics.levels import Level
from capitulation.analytics.smile import DAYS, constant_maturity, latest, risk_reversals
from capitulation.errors import DataError
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import age_days, usd
from capitulation.snapshot import Snapshot, utc

SIGNAL, TITLE = "options_stress", "Options stress"


@dataclass(frozen=True)
class Thresholds:
    # Puts 5 vol points over calls at 25 delta on a one-week horizon: panic hedging, well outside the
    # usual BTC range of about -3..+3 vol points.
    rr25: float = -0.05
    max_age_days: float = 2.0
    dealer: Dealer = "classic"
    grid: float = 0.2  # GEX profile over spot x (1 -/+ 20 %)


@dataclass(frozen=True)
class OptionsSummary:
    """The options figures of the latest chain; vols are fractions, GEX USD per 1 % move.

    `smile`: `risk_reversals` rows (one per expiry, or the selected one); `term`: `constant_maturity`
    of the whole chain at 1/7/30/90 days; `gex`, `profile` (sticky as named), `flip`, `walls`,
    `max_pain` cover the selected expiry or, without one, every expiry.
    """

    timestamp: pd.Timestamp
    spot: float
    expiry: pd.Timestamp | None
    sticky: Sticky
    smile: pd.DataFrame
    term: pd.DataFrame
    gex: GexResult
    profile: pd.DataFrame
    flip: float
    walls: Walls
    max_pain: pd.DataFrame


def summarize(
    quotes: pd.DataFrame,
    dealer: Dealer = "classic",
    expiry: str | pd.Timestamp | None = None,
    trades: pd.DataFrame | None = None,
    sticky: Sticky = "strike",
    grid: float = 0.2,
    points: int = 201,
) -> OptionsSummary:
    """Smile, term structure and dealer gamma of the latest chain in `quotes`.

    The GEX profile spans spot x (1 -/+ grid) in `points` steps; the flip is the crossing nearest spot.
    `expiry` (a settlement time, or a bare date matching the expiry on that UTC day) restricts everything
    but the term structure to that expiry, re-using the whole chain's reference spot. `DataError` for an
    empty chain, or an expiry not in it (the message lists the available ones).
    """
    chain = latest(quotes, "options summary")
    s0 = reference_spot(chain)
    chosen = None if expiry is None else _pick_expiry(chain, expiry)
    part = chain if chosen is None else chain[chain["expiry"] == chosen]
    rr = risk_reversals(chain)
    g = gex_by_strike(part, dealer=dealer, trades=trades, s0=s0)
    spots = s0 * np.linspace(1 - grid, 1 + grid, points)
    prof = gex_profile(part, spots, dealer, sticky, trades, s0=s0)
    return OptionsSummary(
        timestamp=chain["timestamp"].max(),
        spot=s0,
        expiry=chosen,
        sticky=sticky,
        smile=rr if chosen is None else rr[rr["expiry"] == chosen].reset_index(drop=True),
        term=constant_maturity(rr, DAYS),
        gex=g,
        profile=prof,
        flip=gamma_flip(prof, near=s0),
        walls=walls(g.by_strike),
        max_pain=max_pain(part),
    )


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


def _dvol(snap: Snapshot) -> tuple[list[Metric], list[str]]:
    """Deribit's 30-day implied-vol index (DVOL), as context that is fresher than a recorded chain."""
    vi = snap.get("vol_index")
    if vi is None:
        return [], []
    s = vi.set_index("date")["close"].sort_index()
    base = s[s.index > s.index[-1] - pd.Timedelta(days=30)].mean()
    t = ("vol_index",)
    return (
        [Metric("dvol_close", float(s.iloc[-1]), "fraction", t), Metric("dvol_30d_mean", float(base), "fraction", t)],
        [f"DVOL (30-day implied vol index) {s.iloc[-1]:.1%} on {s.index[-1]:%Y-%m-%d}, 30-day mean {base:.1%}"],
    )


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    quotes = snap.get("option_quotes")
    dvol_metrics, dvol_evidence = _dvol(snap)
    if quotes is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no option chain", *dvol_evidence)
    age = age_days(snap, "option_quotes") or 0.0
    s = summarize(quotes, th.dealer, grid=th.grid, points=81)
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
        *dvol_metrics,
    ]
    near = s.smile.head(2)
    evidence = [
        f"chain of {s.timestamp:%Y-%m-%d %H:%M} UTC ({age:.1f} days before as_of), "
        f"{quotes['instrument'].nunique()} instruments, reference spot ${g.spot:,.0f} (nearest expiry's forward)",
        *(
            f"expiry {r.expiry:%d %b %H:%M} ({r.t_years * 365:.1f}d): RR25 {r.rr25 * 100:+.1f}, RR15 "
            f"{r.rr15 * 100:+.1f} vol pts, ATM {r.atm_iv:.1%}"
            for r in near.itertuples()
        ),
        "constant maturity: "
        + "; ".join(f"{n}d RR25 {cm.loc[n, 'rr25'] * 100:+.1f} RR15 {cm.loc[n, 'rr15'] * 100:+.1f}" for n in (1, 7)),
        f"dealer gamma ({g.dealer}): {usd(g.total_usd)} per 1% move; "
        f"hedge flow {'buys' if g.total_usd > 0 else 'sells'} {usd(abs(g.total_usd))} per 1% fall",
        f"gamma flip ${flip:,.0f}; call wall ${w.call_wall:,.0f}; put wall ${w.put_wall:,.0f}",
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
    if age > th.max_age_days:
        return Verdict(
            SIGNAL,
            TITLE,
            Status.NOT_ENOUGH_DATA,
            f"latest option chain is {age:.0f} days old ({s.timestamp:%Y-%m-%d %H:%M}); figures shown are from then",
            snap.as_of,
            tuple(metrics),
            tuple(evidence),
        )
    rr25 = [float(cm.loc[n, "rr25"]) for n in (1, 7)]
    rr15 = [float(cm.loc[n, "rr15"]) for n in (1, 7)]
    finite = [x for x in rr25 if np.isfinite(x)]
    if not finite:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "25-delta risk reversal not quoted at 1d or 7d")
    holds = min(finite) <= th.rr25
    headline = (
        f"{'puts bid' if holds else 'no put panic'}: 25d RR 1d {rr25[0] * 100:+.1f} / 7d {rr25[1] * 100:+.1f}, "
        f"15d RR 1d {rr15[0] * 100:+.1f} / 7d {rr15[1] * 100:+.1f} vol pts; "
        f"dealers {'short' if g.total_usd < 0 else 'long'} gamma ({usd(g.total_usd)} per 1%, {th.dealer})"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=levels)
