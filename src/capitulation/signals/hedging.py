"""Signal 7, hedging: does a direct hedge (puts, perp short) beat the proxies (MSTR, QQQ, GLD) in stress?

A perp short hedges BTC one-for-one (effectiveness ~1, cost = funding paid or received); a put's cost is
its premium. A proxy hedges only rho^2 of BTC's variance, and correlations change in stress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capitulation.analytics import black76
from capitulation.analytics.cross_asset import closes as wide_closes
from capitulation.analytics.hedging import proxy_hedges
from capitulation.analytics.leverage import annualised_funding
from capitulation.analytics.smile import constant_maturity, risk_reversals
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, age_days, pct
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "hedging", "Hedging"
PROXIES = ["MSTR", "QQQ", "GLD"]


@dataclass(frozen=True)
class Thresholds:
    # A proxy that removes under half of BTC's variance in stress is no hedge for a desk.
    min_effectiveness: float = 0.5
    horizon_days: int = 30
    option_max_age_days: float = 2.0


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    px = snap.get("daily_prices")
    if px is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no daily prices")
    wide = wide_closes(px, [BTC, *PROXIES]).dropna(subset=[BTC])
    if BTC not in wide.columns or wide.shape[1] < 2:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no BTC and proxy price history")
    table = proxy_hedges(wide)
    t = ("daily_prices",)
    metrics, evidence = [], []
    for r in table.itertuples():
        metrics.append(Metric(f"{r.proxy}_effectiveness_{r.regime}", r.effectiveness, "fraction (rho^2)", t))
        if math.isfinite(r.effectiveness):
            evidence.append(
                f"{r.proxy} ({r.regime}, n={r.n_obs}): hedge ratio {r.hedge_ratio:.2f}, "
                f"effectiveness {r.effectiveness:.2f}"
            )
        else:
            evidence.append(f"{r.proxy} ({r.regime}): not enough data ({r.n_obs} days)")
    perps = snap.get("perp_metrics")
    if perps is not None and perps["funding_rate"].notna().any():
        f = perps.dropna(subset=["funding_rate"]).set_index("timestamp").sort_index()
        ann = annualised_funding(f["funding_rate"], float(f["funding_interval_h"].iloc[-1]))
        metrics.append(Metric("perp_short_carry_annualised", ann, "fraction per year", ("perp_metrics",)))
        evidence.append(f"perp short: effectiveness ~1.0; carry {pct(ann)} a year (funding received if positive)")
    quotes = snap.get("option_quotes")
    q_age = age_days(snap, "option_quotes")
    if quotes is not None and q_age is not None and q_age <= th.option_max_age_days:
        cm = constant_maturity(risk_reversals(quotes), (th.horizon_days,))
        vol = float(cm["atm_iv"].iloc[0]) if not cm.empty else float("nan")
        if np.isfinite(vol):
            # An at-the-money-forward put costs P / F = 2 N(vol sqrt(t) / 2) - 1 of notional: F cancels.
            cost = float(black76.price(1.0, 1.0, th.horizon_days / 365.0, vol, False))
            metrics += [
                Metric("atm_put_cost", cost, "fraction of notional", ("option_quotes",)),
                Metric(
                    "atm_put_cost_annualised", cost * 365.0 / th.horizon_days, "fraction per year", ("option_quotes",)
                ),
            ]
            evidence.append(
                f"{th.horizon_days}d ATM put: {cost:.2%} of notional (constant-maturity ATM IV {vol:.1%}), "
                f"{cost * 365 / th.horizon_days:.1%} a year"
            )
    elif quotes is not None:
        evidence.append(f"put cost not priced: the option chain is {q_age:.0f} days older than as_of")
    stress = table[(table["regime"] == "stress")].dropna(subset=["effectiveness"])
    if stress.empty:
        return Verdict(
            SIGNAL,
            TITLE,
            Status.NOT_ENOUGH_DATA,
            "no stress days with enough proxy history to compare",
            snap.as_of,
            tuple(metrics),
            tuple(evidence),
        )
    best = stress.sort_values("effectiveness").iloc[-1]
    holds = best.effectiveness < th.min_effectiveness
    headline = (
        f"direct hedge wins: best proxy in stress is {best.proxy} with rho^2 {best.effectiveness:.2f}"
        if holds
        else f"proxy {best.proxy} hedged {best.effectiveness:.0%} of BTC variance in stress"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
