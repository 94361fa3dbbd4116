"""Signal 2, cross-asset flight: is money leaving US stocks and precious metals along with BTC?

The cross-asset table (`cross_asset`) holds, per asset: drawdowns from the all-time and 90-day highs, the
drawdown relative to BTC's, and BTC's 30/90-day correlation and beta to it (alignment to the NY close:
`analytics.cross_asset`); with the spot-ETF flows over 5/20/60 trading days. The verdict holds when both a
stock index and a precious metal are in a correction (10 % or more below their 90-day high).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from capitulation.analytics import cross_asset as xa
from capitulation.formats import pct, usd
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, aligned_returns, wide_closes
from capitulation.snapshot import Snapshot
from capitulation.tables import DAILY_PRICES, ETF_FLOWS
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "cross_asset", "Cross-asset flight"
GROUPS: dict[str, str] = {
    "QQQ": "stocks",
    "SPY": "stocks",
    "GLD": "metals",
    "IAU": "metals",
    "SLV": "metals",
    "TLT": "bonds",
    "UUP": "dollar",
    "MSTR": "BTC treasury company",
    **dict.fromkeys(("IBIT", "FBTC", "GBTC", "ARKB", "BITB", "HODL"), "spot BTC ETF"),
}
STOCKS = tuple(s for s, g in GROUPS.items() if g == "stocks")
METALS = tuple(s for s, g in GROUPS.items() if g == "metals")
SYMBOLS = (BTC, *GROUPS)
WINDOWS = (30, 90)  # common trading days
FLOW_DAYS = (5, 20, 60)  # trading days
ALIGNMENT = (
    "BTC-USD's UTC daily close (24:00 UTC) joined to the NY close (16:00 ET) of the same trading date, "
    "3-4 h earlier; returns between consecutive common dates, so BTC's weekend is in its Monday return"
)


@dataclass(frozen=True)
class Thresholds:
    # A 10 % fall from the 90-day high is a correction by the usual market definition.
    drawdown_90d: float = -0.10
    max_age_days: float = 5.0  # a close older than this (a long weekend is 4 days) is stale
    flows_max_age_days: float = 5.0


@dataclass(frozen=True)
class Flows:
    """Spot-ETF net flows summed over the last N trading days (USD), and how old the latest row is."""

    last_date: pd.Timestamp
    age_days: float
    fresh: bool
    sums: dict[int, float]

    def as_dict(self) -> dict[str, object]:
        """last_date (ISO), age_days, fresh, sums_usd per '{N}d', and a note (says STALE when not fresh)."""
        return {
            "last_date": self.last_date.isoformat(),
            "age_days": self.age_days,
            "fresh": self.fresh,
            "sums_usd": {f"{d}d": v for d, v in self.sums.items()},
            "note": "net flows of all US spot BTC ETFs (Farside), summed over the last N trading days to last_date"
            + ("" if self.fresh else "; STALE: the recorded flows end long before as_of"),
        }


@dataclass(frozen=True)
class CrossAsset:
    """The cross-asset table (index: symbol; BTC first) with the symbols left out as stale and the flows."""

    table: pd.DataFrame
    stale: dict[str, pd.Timestamp]
    flows: Flows | None

    UNITS = (
        "drawdowns and returns are fractions; rel_drawdown_90d = asset's 90d drawdown minus BTC's "
        "(fraction points); corr/beta over the last N common trading days (beta = BTC return per unit return "
        "of the asset); NaN (null) below N returns"
    )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready but for NaN (the writer's null): alignment, `UNITS`, the windows, `assets` (one record
        per table row, with its symbol; dates ISO, a missing date None), the stale symbols left out, the flows."""
        tab = self.table.rename_axis("symbol").reset_index()
        for col in ("last_date", "last_common"):
            tab[col] = [None if pd.isna(d) else pd.Timestamp(d).isoformat() for d in tab[col]]
        return {
            "alignment": ALIGNMENT,
            "units": self.UNITS,
            "windows_trading_days": list(WINDOWS),
            "assets": tab.astype(object).where(tab.notna(), None).to_dict("records"),
            "left_out_stale": {s: d.isoformat() for s, d in self.stale.items()},
            "etf_flows": None if self.flows is None else self.flows.as_dict(),
        }


def cross_asset(snap: Snapshot, th: Thresholds = Thresholds()) -> CrossAsset | str:
    """The table for `snap`, or why there is none. Columns: group, last_date, close, ath, drawdown_ath,
    drawdown_90d, return_30d, rel_drawdown_90d (x minus BTC), corr_Nd, beta_Nd, n_Nd for N in `WINDOWS`,
    last_common (the last date of the correlation window)."""
    px = snap.get("daily_prices")
    if px is None:
        return "no daily prices"
    wide = wide_closes(snap, SYMBOLS)
    last = {s: wide[s].last_valid_index() for s in wide.columns}  # every column has a close (wide_closes)
    stale = {s: d for s, d in last.items() if DAILY_PRICES.age_days(snap.as_of, d) > th.max_age_days}
    wide = wide.drop(columns=list(stale))
    if BTC not in wide.columns:
        return f"no recent BTC-USD close (latest {last[BTC]:%Y-%m-%d})" if BTC in last else "no BTC-USD closes"
    if not any(s in wide.columns for s in STOCKS + METALS):
        return "no recent stock-index or metal closes"
    dd = xa.drawdowns(wide)
    dd["rel_drawdown_90d"] = dd["drawdown_90d"] - dd.loc[BTC, "drawdown_90d"]
    pairs = {s: aligned_returns(snap, SYMBOLS, BTC, s) for s in wide.columns.drop(BTC)}
    table = dd.join(xa.correlations_of(pairs, BTC, WINDOWS))  # = xa.correlations(wide, BTC, WINDOWS)
    table.insert(0, "group", [GROUPS.get(s, "bitcoin") for s in table.index])
    flows = None
    ef = snap.get("etf_flows")
    if ef is not None:
        latest = ef["date"].max()
        age = ETF_FLOWS.age_days(snap.as_of, latest)
        flows = Flows(latest, age, age <= th.flows_max_age_days, xa.flow_sums(ef, FLOW_DAYS))
    return CrossAsset(table, stale, flows)


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    ca = cross_asset(snap, th)
    if isinstance(ca, str):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, ca)
    tab = ca.table
    t = ("daily_prices",)
    metrics: list[Metric] = []
    evidence: list[str] = []
    btc = tab.loc[BTC]
    for sym, r in tab.iterrows():
        metrics += [
            Metric(f"{sym}_drawdown_ath", r.drawdown_ath, "fraction", t),
            Metric(f"{sym}_drawdown_90d", r.drawdown_90d, "fraction", t),
        ]
        line = f"{sym}: {pct(r.drawdown_90d)} from 90d high, {pct(r.drawdown_ath)} from ATH, 30d {pct(r.return_30d)}"
        if sym != BTC:
            metrics.append(Metric(f"{sym}_rel_drawdown_90d", r.rel_drawdown_90d, "fraction points vs BTC", t))
            for n in WINDOWS:
                metrics += [
                    Metric(f"{sym}_corr_{n}d", r[f"corr_{n}d"], "correlation", t),
                    Metric(f"{sym}_beta_{n}d", r[f"beta_{n}d"], "BTC return per unit return", t),
                ]
            line += "; BTC corr/beta " + ", ".join(
                f"{n}d {r[f'corr_{n}d']:+.2f}/{r[f'beta_{n}d']:.2f}"
                if pd.notna(r[f"corr_{n}d"])
                else f"{n}d not enough data ({int(r[f'n_{n}d'])} returns)"
                for n in WINDOWS
            )
        evidence.append(line)
    if ca.stale:
        evidence.append(
            "left out, no recent close: " + ", ".join(f"{s} (last {d:%Y-%m-%d})" for s, d in ca.stale.items())
        )
    if ca.flows is not None and ca.flows.fresh:
        for d, v in ca.flows.sums.items():
            metrics.append(Metric(f"etf_flows_{d}d", v, "USD", ("etf_flows",)))
        evidence.append(
            "spot ETF net flows: " + "; ".join(f"{d} trading days {usd(v)}" for d, v in ca.flows.sums.items())
        )
    elif ca.flows is not None:
        evidence.append(
            f"spot ETF flows not used: latest row is {ca.flows.age_days:.0f} days before as_of "
            f"({ca.flows.last_date:%Y-%m-%d})"
        )
    evidence.append(f"alignment: {ALIGNMENT}")
    stocks_down = [s for s in STOCKS if s in tab.index and tab.loc[s, "drawdown_90d"] <= th.drawdown_90d]
    metals_down = [s for s in METALS if s in tab.index and tab.loc[s, "drawdown_90d"] <= th.drawdown_90d]
    holds = bool(stocks_down) and bool(metals_down)
    summary = ", ".join(f"{s} {pct(tab.loc[s, 'drawdown_90d'])}" for s in (*STOCKS, *METALS) if s in tab.index)
    headline = (
        f"{'flight from stocks and metals' if holds else 'no broad flight'}: BTC {pct(btc.drawdown_90d)} "
        f"from its 90d high while {summary}"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
