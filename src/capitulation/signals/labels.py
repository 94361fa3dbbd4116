"""Human labels, units and number formats of the verdicts' metrics: one registry that the dashboard, the
terminal and the JSON share, so a metric reads the same everywhere ('oi_btc' -> 'Open interest', '93,492 BTC').

`label(key)` finds a metric's `Label`: an exact key first, then a pattern for the families named by an asset,
sector or window (`QQQ_corr_30d`, `defi_vs_btc_7d`, `oi_change_7d`); `None` for a key the registry lacks (a
test keeps every metric of the eight signals covered). `Label.text(value)` formats a value in the metric's own
unit (fractions as percent, money with a magnitude suffix, prices in whole dollars).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from capitulation.formats import usd

Format = Literal["pct", "signed_pct", "pts", "vol_pts", "money", "price", "ratio", "corr", "count", "number"]
"""How a value prints: pct 0.363 -> '36.3%'; signed_pct -> '+5.5%'; pts (fraction points) 0.351 -> '+35.1 pts';
vol_pts (a change of a vol given as a fraction) 0.437 -> '+43.7 vol pts'; money 6.29e9 -> '$6.29B'; price
62702.1 -> '$62,702'; ratio -> '0.989'; corr -> '+0.48'; count -> '3'; number -> '93,492' or '0.0312' then the
unit."""


@dataclass(frozen=True)
class Label:
    """A metric's human name, the unit its value is shown in ('' when the format says it: %, $) and format."""

    label: str
    unit: str
    format: Format

    def text(self, value: float | None) -> str:
        """`value` in this metric's format and unit; 'n/a' when missing (None or NaN)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        v = float(value)
        out = {
            "pct": lambda: f"{v:.1%}",
            "signed_pct": lambda: f"{v:+.1%}",
            "pts": lambda: f"{v * 100:+.1f} pts",
            "vol_pts": lambda: f"{v * 100:+.1f} vol pts",
            "money": lambda: usd(v) if abs(v) >= 1 else f"${v:.4g}",
            "price": lambda: f"${v:,.0f}",
            "ratio": lambda: f"{v:.3f}",
            "corr": lambda: f"{v:+.2f}",
            "count": lambda: f"{v:,.0f}",
            "number": lambda: f"{v:,.0f}" if abs(v) >= 1e3 else f"{v:.4g}",
        }[self.format]()
        return f"{out} {self.unit}".rstrip()


L = Label
EXACT: dict[str, Label] = {
    # 1 leverage flush
    "oi_btc": L("Open interest", "BTC", "number"),
    "oi_usd": L("Open interest", "", "money"),
    "flush_ratio_btc": L("OI build-up removed (in BTC)", "", "pct"),
    "flush_ratio_usd": L("OI build-up removed in USD (price-driven, not judged)", "", "pct"),
    "oi_btc_vs_peak": L("OI vs its peak (in BTC)", "", "pct"),
    "oi_usd_vs_peak": L("OI vs its peak (in USD)", "", "pct"),
    "funding_annualised_30d": L("Funding, 30-day mean, annualised", "", "signed_pct"),
    "flush_threshold": L("Flush threshold (from past drawdowns)", "", "pct"),
    # 2 cross-asset (per asset: patterns below)
    # 3 options stress
    "dvol_close": L("DVOL (implied vol index)", "", "pct"),
    "dvol_high_14d": L("DVOL, 14-day high", "", "pct"),
    "dvol_rank_1y": L("DVOL rank in its year", "", "pct"),
    "dvol_change_14d": L("DVOL change, 14 days", "", "vol_pts"),
    "dvol_rank_threshold": L("DVOL rank threshold", "", "pct"),
    "btc_return_14d": L("BTC return, 14 days", "", "signed_pct"),
    "atm_iv_7d": L("ATM implied vol, 7 days", "", "pct"),
    "gex_total_usd_per_1pct": L("Dealer gamma (GEX) per 1% move", "", "money"),
    "hedge_flow_usd_per_1pct_rise": L("Dealer hedge flow per 1% rise (+ buy, - sell)", "", "money"),
    "gamma_flip": L("Gamma flip", "", "price"),
    "call_wall": L("Call wall", "", "price"),
    "put_wall": L("Put wall", "", "price"),
    "chain_spot": L("Spot in the option chain", "", "price"),
    "bad_quote_rows_dropped": L("Bad quotes dropped", "rows", "count"),
    # 4 liquidity levels
    "spot": L("BTC spot", "", "price"),
    "flush_day_long": L("Longs liquidated on the flush day (share of OI, model)", "", "pct"),
    "flush_rank": L("Flush-day rank in its year", "", "pct"),
    "flush_rank_threshold": L("Flush rank threshold", "", "pct"),
    "close_before_flush": L("Close before the flush", "", "price"),
    "model_oi_btc": L("Open interest in the model", "BTC", "number"),
    "model_open_btc": L("Open positions in the model", "BTC", "number"),
    "long_liq_within_near_usd": L("Long liquidations within reach", "", "money"),
    "long_liq_open_usd": L("Long liquidations still open", "", "money"),
    "long_liq_near_share": L("Share of open long liquidations within reach", "", "pct"),
    "largest_long_cluster_price": L("Largest long-liquidation cluster", "", "price"),
    "largest_short_cluster_price": L("Largest short-liquidation cluster", "", "price"),
    "long_liquidations_day_usd": L("Long liquidations on the day (observed)", "", "money"),
    "long_liquidations_day_rank_1y": L("Long liquidations on the day, rank in the year", "", "pct"),
    # 5 sector rotation
    "sectors_beating_btc_30d": L("Sectors beating BTC, 30 days", "", "count"),
    "btc_return_30d": L("BTC return, 30 days", "", "signed_pct"),
    "breadth_30d": L("Share of sectors beating BTC, 30 days", "", "pct"),
    "breadth_threshold": L("Breadth threshold", "", "pct"),
    # 6 treasury
    "mnav": L("MSTR mNAV", "", "ratio"),
    "mnav_ev": L("MSTR mNAV (enterprise value)", "", "ratio"),
    "mnav_mcap": L("MSTR mNAV (market cap)", "", "ratio"),
    "btc_nav_usd": L("MSTR bitcoin NAV", "", "money"),
    "market_cap_usd": L("MSTR market cap", "", "money"),
    "enterprise_value_usd": L("MSTR enterprise value", "", "money"),
    "holdings_age_days": L("Holdings report age", "days", "number"),
    "mnav1_btc_price": L("BTC price at mNAV 1", "", "price"),
    "stress_btc_price": L("BTC price where NAV = debt + preferred", "", "price"),
    "leverage": L("Debt and preferred / BTC NAV", "", "pct"),
    "mnav_mcap_year_rank": L("mNAV (market cap) rank in its year", "", "pct"),
    "past_troughs_scored": L("Past troughs scored", "drawdowns", "count"),
    "past_troughs_at_or_below": L("Past troughs at or below today's mNAV", "drawdowns", "count"),
    "past_peaks_scored": L("Past peaks scored", "drawdowns", "count"),
    "past_peaks_at_or_below": L("Past peaks at or below today's mNAV", "drawdowns", "count"),
    "dats_priced": L("Treasury companies priced", "", "count"),
    "dats_below_mnav1_mcap": L("Companies below mNAV 1 (market cap)", "", "count"),
    "dats_with_capital_stack": L("Companies with a capital stack", "", "count"),
    "dats_below_mnav1_ev": L("Companies below mNAV 1 (enterprise value)", "", "count"),
    "interest_to_nav": L("Interest / BTC NAV per year", "", "pct"),
    "dividends_to_nav": L("Preferred dividends / BTC NAV per year", "", "pct"),
    "avg_cost_usd": L("MSTR average cost", "per BTC", "price"),
    "unrealised_pnl_usd": L("MSTR unrealised P&L", "", "money"),
    # 7 hedging
    "btc_drawdown_from_high": L("BTC drawdown from its high", "", "signed_pct"),
    "btc_return_window": L("BTC return over the window", "", "signed_pct"),
    "diversifiers_judged": L("Diversifiers judged", "", "count"),
    "diversifiers_failed": L("Diversifiers that failed", "", "count"),
    # 8 bottom range
    "sth_sopr": L("Short-term holder SOPR", "", "ratio"),
    "spot_over_sth_realized_price": L("Spot / short-term holder cost basis", "", "ratio"),
    "sth_ratio_threshold": L("Short-term holder ratio threshold", "", "ratio"),
    "spot_over_realized_price": L("Spot / realized price (MVRV at spot)", "", "ratio"),
    "mvrv_threshold": L("MVRV threshold", "", "ratio"),
    "realized_price": L("Realized price", "", "price"),
    "sth_realized_price": L("Short-term holder realized price", "", "price"),
    "mvrv": L("MVRV", "", "ratio"),
    "sth_mvrv": L("Short-term holder MVRV", "", "ratio"),
    "frontier_shutdown_price": L("Shutdown price, most efficient rig", "", "price"),
    "fleet_shutdown_price": L("Shutdown price, fleet average", "", "price"),
    "frontier_efficiency_jth": L("Most efficient rig", "J/TH", "number"),
    "fleet_efficiency_jth": L("Fleet average efficiency", "J/TH", "number"),
    "spot_over_fleet_shutdown": L("Spot / fleet shutdown price", "", "ratio"),
    "fleet_ratio_threshold": L("Fleet ratio threshold", "", "ratio"),
    "network_hashrate_ehs": L("Network hashrate", "EH/s", "number"),
    "fees_btc_per_block": L("Fees per block", "BTC", "number"),
    "hashprice_usd_per_th_day": L("Hashprice", "per TH/s per day", "money"),
    "treasury_cost_basis": L("MSTR cost basis", "", "price"),
}

WINDOW = r"(?P<n>\d+)d"
PATTERNS: tuple[tuple[re.Pattern[str], Label], ...] = tuple(
    (re.compile(p), lab)
    for p, lab in (
        (rf"oi_change_{WINDOW}", L("OI change, {n}", "", "signed_pct")),
        (rf"price_change_{WINDOW}", L("BTC price change, {n}", "", "signed_pct")),
        (rf"btc_drawdown_{WINDOW}", L("BTC drawdown from its high of the last {n}", "", "signed_pct")),
        (rf"etf_flows_{WINDOW}", L("Spot ETF net flows, {n}", "", "money")),
        (rf"long_liquidations_{WINDOW}_usd", L("Long liquidations, {n} (observed)", "", "money")),
        (rf"long_liquidations_{WINDOW}_rank_1y", L("Long liquidations, {n}, rank in the year", "", "pct")),
        (rf"rr(?P<d>\d+)_{WINDOW}", L("{d}-delta risk reversal, {n}", "", "vol_pts")),
        (
            r"calibration_(?P<side>long|short)_scale",
            L("Liquidation model scale, {side}s (observed/model)", "", "ratio"),
        ),
        (r"calibration_(?P<side>long|short)_correlation", L("Liquidation model fit, {side}s (Pearson)", "", "ratio")),
        (rf"(?P<a>.+)_rel_drawdown_{WINDOW}", L("{a} drawdown minus BTC's, {n}", "", "pts")),
        (rf"(?P<a>.+)_drawdown_{WINDOW}", L("{a} drawdown from its high of the last {n}", "", "signed_pct")),
        (r"(?P<a>.+)_drawdown_ath", L("{a} drawdown from its all-time high", "", "signed_pct")),
        (rf"(?P<a>.+)_corr_{WINDOW}", L("{a} correlation with BTC, {n}", "", "corr")),
        (rf"(?P<a>.+)_beta_{WINDOW}", L("BTC beta to {a}, {n}", "", "ratio")),
        (r"(?P<a>.+)_return_window", L("{a} return over the window", "", "signed_pct")),
        (r"(?P<a>.+)_fell_below", L("{a} fell below BTC by", "", "pts")),
        (r"(?P<a>.+)_effectiveness_median", L("{a} hedge effectiveness, median (rho²)", "", "pct")),
        (r"(?P<a>.+)_effectiveness", L("{a} hedge effectiveness (rho²)", "", "pct")),
        (r"(?P<a>.+)_collapse_below", L("{a} effectiveness collapse line (rho²)", "", "pct")),
        (rf"(?P<s>.+)_vs_btc_{WINDOW}", L("{s} vs BTC, {n}", "", "pts")),
    )
)
"""Metric families keyed by an asset, sector, side or window, most specific first (`_rel_drawdown_` before
`_drawdown_`); each label's {names} are filled from the match ('BTC-USD' -> 'BTC', sectors' '_' -> ' ')."""


def _name(group: str, value: str) -> str:
    if group == "n":
        return f"{value} day" if value == "1" else f"{value} days"
    if group == "a":
        return value.removesuffix("-USD")
    return value.replace("_", " ") if group == "s" else value


def label(key: str) -> Label | None:
    """The registry's label of metric `key`; None when it has none."""
    if key in EXACT:
        return EXACT[key]
    for pattern, lab in PATTERNS:
        if m := pattern.fullmatch(key):
            names = {g: _name(g, v) for g, v in m.groupdict().items()}
            return Label(lab.label.format(**names), lab.unit, lab.format)
    return None


def describe(key: str, value: float | None) -> tuple[str, str]:
    """(label, value text) of a metric; a key the registry lacks keeps its name with '_' as spaces."""
    lab = label(key)
    if lab is None:
        return key.replace("_", " "), "n/a" if value is None else f"{value:.4g}"
    return lab.label, lab.text(value)
