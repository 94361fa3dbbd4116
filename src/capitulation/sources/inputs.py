"""What each recorded table is read from: its folders under the data folder, and the quote times of chain
files that carry none. Light (no pandas): the caches key their entries on it before any importer loads."""

from __future__ import annotations

CHAIN_TIMESTAMPS: dict[str, str] = {"sample.csv": "2026-03-05T19:52:00Z"}
"""Quote times of recorded chain files without a `date` column. sample.csv: PROVENANCE.md quotes the
source commit message '2026-03-09 19:00:00', but the file's own greeks date it to 2026-03-05 ~19:52 UTC
(t = 100 vega vol / (730 |theta|) agrees across expiries; 6MAR26 options are still live in it), so the
greeks' time is used: `deribit.implied_capture_time` reproduces it, and within 0.45 h on the dated file."""

TABLE_INPUTS: dict[str, tuple[str, ...]] = {
    "option_quotes": ("deribit_options",),
    "daily_prices": ("prices_daily", "macro", "treasury_companies"),
    "perp_metrics": ("derivatives_oi_funding",),
    "btc_network": ("bitcoin_network",),
    "treasury_companies": ("treasury_companies",),
    "treasury_instruments": ("treasury_companies",),
    "treasury_charges": ("treasury_companies",),
    "sector_returns": ("sectors",),
    "etf_flows": ("etf_flows",),
    "vol_index": ("volatility_index",),
    "onchain": ("onchain_costbasis",),
    "liquidations": ("liquidations",),
    "long_short_ratios": ("liquidations",),
}
"""The folders each table is read from: a change to any file in them re-parses that table (`cache`)."""


def all_folders() -> tuple[str, ...]:
    """Every folder any table is read from, once, in `TABLE_INPUTS`' order."""
    return tuple(dict.fromkeys(f for folders in TABLE_INPUTS.values() for f in folders))
