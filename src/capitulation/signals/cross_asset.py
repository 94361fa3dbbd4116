"""Signal 2, cross-asset flight: is money leaving US stocks and precious metals along with BTC?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capitulation.analytics import cross_asset as xa
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, age_days, pct, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "cross_asset", "Cross-asset flight"
STOCKS, METALS = ("QQQ", "SPY"), ("GLD", "SLV")
SYMBOLS = [BTC, "QQQ", "SPY", "GLD", "SLV", "IBIT", "MSTR", "TLT", "UUP"]


@dataclass(frozen=True)
class Thresholds:
    # A 10 % fall from the 90-day high is a correction by the usual market definition.
    drawdown_90d: float = -0.10
    max_age_days: float = 5.0
    flows_max_age_days: float = 5.0


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    px = snap.get("daily_prices")
    if px is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no daily prices")
    wide = xa.closes(px, SYMBOLS)
    fresh = [s for s in wide.columns if (snap.as_of - wide[s].dropna().index[-1]).days <= th.max_age_days]
    wide = wide[fresh]
    if BTC not in wide.columns or not any(s in wide.columns for s in STOCKS + METALS):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no recent BTC, stock-index or metal closes")
    dd = xa.drawdowns(wide)
    corr = xa.correlations(wide.dropna(subset=[BTC]), BTC)
    t = ("daily_prices",)
    metrics, evidence = [], []
    for sym, r in dd.iterrows():
        metrics += [
            Metric(f"{sym}_drawdown_ath", r.drawdown_ath, "fraction", t),
            Metric(f"{sym}_drawdown_90d", r.drawdown_90d, "fraction", t),
        ]
        c = corr.loc[sym] if sym in corr.index else None
        extra = ""
        if c is not None and np.isfinite(c["corr"]):
            metrics.append(Metric(f"{sym}_corr_90d", float(c["corr"]), "correlation", t))
            extra = f", 90d corr with BTC {c['corr']:+.2f} (beta {c['beta']:.2f}, n={int(c['n_obs'])})"
        evidence.append(
            f"{sym}: {pct(r.drawdown_90d)} from 90d high, {pct(r.drawdown_ath)} from ATH, 30d {pct(r.return_30d)}"
            + extra
        )
    flows_age = age_days(snap, "etf_flows")
    if flows_age is not None and flows_age <= th.flows_max_age_days:
        for d, v in xa.flow_sums(snap.tables["etf_flows"]).items():
            metrics.append(Metric(f"etf_flows_{d}d", v, "USD", ("etf_flows",)))
            evidence.append(f"spot ETF net flows, last {d} trading days: {usd(v)}")
    elif flows_age is not None:
        evidence.append(f"spot ETF flows not used: latest row is {flows_age:.0f} days before as_of")
    stocks_down = [s for s in STOCKS if s in dd.index and dd.loc[s, "drawdown_90d"] <= th.drawdown_90d]
    metals_down = [s for s in METALS if s in dd.index and dd.loc[s, "drawdown_90d"] <= th.drawdown_90d]
    holds = bool(stocks_down) and bool(metals_down)
    btc = dd.loc[BTC]
    summary = ", ".join(f"{s} {pct(dd.loc[s, 'drawdown_90d'])}" for s in (*STOCKS, *METALS) if s in dd.index)
    headline = (
        f"{'flight from stocks and metals' if holds else 'no broad flight'}: BTC {pct(btc.drawdown_90d)} "
        f"from its 90d high; {summary}"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
