"""Signal 6, treasury companies: does Strategy (MSTR) trade at or below the value of its bitcoin?"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from capitulation.analytics.levels import Level
from capitulation.analytics.treasury import mnav
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import closes, spot, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "treasury", "Treasury companies"


@dataclass(frozen=True)
class Thresholds:
    mnav: float = 1.0  # below 1 the market values the company at less than its bitcoin net of claims
    ticker: str = "MSTR"
    max_share_price_age_days: float = 5.0


def latest_rows(treasury: pd.DataFrame) -> pd.DataFrame:
    """The latest figures per ticker: the latest row by as_of, each missing field filled from the latest
    earlier row that has it (a quarterly report without a debt figure keeps the last known debt)."""
    ordered = treasury.sort_values(["ticker", "as_of"], kind="stable")
    filled = ordered.groupby("ticker").ffill().assign(ticker=ordered["ticker"])
    return filled.groupby("ticker", as_index=False).tail(1).set_index("ticker")


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    tr, btc = snap.get("treasury_companies"), spot(snap)
    if tr is None or btc is None or th.ticker not in set(tr["ticker"]):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"no {th.ticker} capital stack or BTC price")
    row = latest_rows(tr).loc[th.ticker]
    px = closes(snap, th.ticker)
    if px.empty or (snap.as_of - px.index[-1]).days > th.max_share_price_age_days:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"no recent {th.ticker} share price")
    # Basic shares: convertible notes are in debt at face, so a diluted count would count them twice.
    shares = row.shares_basic if pd.notna(row.shares_basic) else row.shares_diluted
    if pd.isna(shares):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"{th.ticker} share count unknown")
    m = mnav(
        btc_held=float(row.btc_held),
        btc_price=btc,
        share_price=float(px.iloc[-1]),
        shares=float(shares),
        debt=float(row.debt_usd) if pd.notna(row.debt_usd) else 0.0,
        preferred=float(row.preferred_usd) if pd.notna(row.preferred_usd) else 0.0,
        cash=float(row.cash_usd) if pd.notna(row.cash_usd) else 0.0,
        avg_cost=float(row.avg_cost_usd) if pd.notna(row.avg_cost_usd) else None,
    )
    t = ("treasury_companies", "daily_prices")
    metrics = (
        Metric("mnav_ev", m.mnav_ev, "ratio", t),
        Metric("mnav_mcap", m.mnav_mcap, "ratio", t),
        Metric("btc_nav_usd", m.btc_nav_usd, "USD", t),
        Metric("enterprise_value_usd", m.enterprise_value_usd, "USD", t),
        Metric("mnav1_btc_price", m.mnav1_btc_price, "USD", t),
        Metric("stress_btc_price", m.stress_btc_price, "USD", t),
        Metric("leverage", m.leverage, "fraction", t),
    )
    evidence = [
        f"{row['name']} ({th.ticker}): {row.btc_held:,.0f} BTC as of {row.as_of:%Y-%m-%d} ({row.source})",
        f"share price ${px.iloc[-1]:,.2f} ({px.index[-1]:%Y-%m-%d}) x {shares / 1e6:,.2f}M basic shares = "
        f"{usd(m.market_cap_usd)}; debt {usd(row.debt_usd or 0)}, preferred {usd(row.preferred_usd or 0)}, "
        f"cash {usd(row.cash_usd or 0)}",
        f"BTC NAV {usd(m.btc_nav_usd)} at ${btc:,.0f}; EV {usd(m.enterprise_value_usd)}; mNAV (EV) "
        f"{m.mnav_ev:.3f}, mNAV (market cap) {m.mnav_mcap:.3f}",
        f"mNAV = 1 at BTC ${m.mnav1_btc_price:,.0f}; BTC NAV = debt + preferred at ${m.stress_btc_price:,.0f}",
        "basic shares with convertibles as debt at face (a diluted count would count them twice)"
        + (f"; diluted count {row.shares_diluted / 1e6:,.2f}M" if pd.notna(row.shares_diluted) else ""),
    ]
    levels = [
        Level(m.mnav1_btc_price, f"{th.ticker} mNAV = 1 at today's share price", SIGNAL, t),
        Level(m.stress_btc_price, f"{th.ticker} BTC NAV = debt + preferred", SIGNAL, t),
    ]
    if pd.notna(row.avg_cost_usd):
        levels.append(Level(float(row.avg_cost_usd), f"{th.ticker} average cost", SIGNAL, t))
    holds = m.mnav_ev <= th.mnav
    headline = f"{th.ticker} mNAV (EV) {m.mnav_ev:.2f}: {'at or below' if holds else 'above'} its bitcoin NAV"
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, metrics, tuple(evidence), levels=tuple(levels))
