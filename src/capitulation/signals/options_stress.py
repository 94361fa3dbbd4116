"""Signal 3, options stress: are next-day and weekly puts bid over calls, and are dealers short gamma?

Holds when the constant-maturity 25-delta risk reversal (call IV - put IV) at 1 or 7 days is at or below
the threshold. Dealer gamma (classic positioning: dealers long calls, short puts) says whether their
hedging amplifies a fall (GEX < 0: they sell into declines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics.gex import Dealer, gamma_flip, gex_by_strike, gex_profile, walls
from capitulation.analytics.levels import Level
from capitulation.analytics.smile import constant_maturity, risk_reversals
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import age_days, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "options_stress", "Options stress"


@dataclass(frozen=True)
class Thresholds:
    # Puts 5 vol points over calls at 25 delta on a one-week horizon: panic hedging, well outside the
    # usual BTC range of about -3..+3 vol points.
    rr25: float = -0.05
    max_age_days: float = 2.0
    dealer: Dealer = "classic"
    grid: float = 0.2  # GEX profile over spot x (1 -/+ 20 %)


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
    rr = risk_reversals(quotes)
    cm = constant_maturity(rr, (1, 7, 30)).set_index("days")
    g = gex_by_strike(quotes, dealer=th.dealer)
    grid = g.spot * np.linspace(1 - th.grid, 1 + th.grid, 81)
    flip = gamma_flip(gex_profile(quotes, grid, th.dealer), near=g.spot)
    w = walls(g.by_strike)
    ts = quotes["timestamp"].max()
    t = ("option_quotes",)
    metrics = [
        Metric(f"rr{d}_{n}d", float(cm.loc[n, f"rr{d}"]), "fraction (vol points / 100)", t)
        for n in (1, 7)
        for d in (15, 25)
    ]
    metrics += [
        Metric("atm_iv_7d", float(cm.loc[7, "atm_iv"]), "fraction", t),
        Metric("gex_total_usd_per_1pct", g.total_usd, "USD per 1% move", t),
        Metric("gamma_flip", flip, "USD", t),
        Metric("call_wall", w.call_wall, "USD", t),
        Metric("put_wall", w.put_wall, "USD", t),
        Metric("chain_spot", g.spot, "USD", t),
        *dvol_metrics,
    ]
    near = rr.head(2)
    evidence = [
        f"chain of {ts:%Y-%m-%d %H:%M} UTC ({age:.1f} days before as_of), {quotes['instrument'].nunique()} "
        f"instruments, reference spot ${g.spot:,.0f} (nearest expiry's forward)",
        *(
            f"expiry {r.expiry:%d %b %H:%M} ({r.t_years * 365:.1f}d): RR25 {r.rr25 * 100:+.1f}, RR15 "
            f"{r.rr15 * 100:+.1f} vol pts, ATM {r.atm_iv:.1%}"
            for r in near.itertuples()
        ),
        "constant maturity: "
        + "; ".join(f"{n}d RR25 {cm.loc[n, 'rr25'] * 100:+.1f} RR15 {cm.loc[n, 'rr15'] * 100:+.1f}" for n in (1, 7)),
        f"dealer gamma ({th.dealer}: dealers long calls, short puts): {usd(g.total_usd)} per 1% move; "
        f"hedge flow {'buys' if g.total_usd > 0 else 'sells'} {usd(abs(g.total_usd))} per 1% fall",
        f"gamma flip ${flip:,.0f}; call wall ${w.call_wall:,.0f}; put wall ${w.put_wall:,.0f}",
        *dvol_evidence,
    ]
    levels = (
        Level(flip, "gamma flip (dealer GEX = 0)", SIGNAL, t),
        Level(w.call_wall, "call wall (largest call GEX)", SIGNAL, t),
        Level(w.put_wall, "put wall (largest put GEX)", SIGNAL, t),
    )
    if age > th.max_age_days:
        return Verdict(
            SIGNAL,
            TITLE,
            Status.NOT_ENOUGH_DATA,
            f"latest option chain is {age:.0f} days old ({ts:%Y-%m-%d %H:%M}); figures shown are from then",
            snap.as_of,
            tuple(metrics),
            tuple(evidence),
        )
    rr25 = [float(cm.loc[n, "rr25"]) for n in (1, 7)]
    finite = [x for x in rr25 if np.isfinite(x)]
    if not finite:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "25-delta risk reversal not quoted at 1d or 7d")
    worst = min(finite)
    holds = worst <= th.rr25
    headline = (
        f"{'puts bid' if holds else 'no put panic'}: 25d RR 1d {rr25[0] * 100:+.1f} / 7d {rr25[1] * 100:+.1f} "
        f"vol pts; dealers {'short' if g.total_usd < 0 else 'long'} gamma ({usd(g.total_usd)} per 1%)"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=levels)
