"""Builders of small synthetic snapshots for signal tests. Every number here is made up, labelled synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitulation.snapshot import Provenance, Snapshot

SYNTHETIC = Provenance(source="synthetic test data", retrieved_at="2026-01-01T00:00:00Z", synthetic=True)


def snapshot(as_of: str, **frames: pd.DataFrame) -> Snapshot:
    return Snapshot(as_of, frames, {k: SYNTHETIC for k in frames})


def daily(symbol: str, closes: list[float] | np.ndarray, end: str = "2026-02-05") -> pd.DataFrame:
    days = pd.date_range(end=end, periods=len(closes), freq="D", tz="UTC")
    return pd.DataFrame(
        {
            "date": days,
            "symbol": symbol,
            "open": np.nan,
            "high": np.nan,
            "low": np.nan,
            "close": np.asarray(closes, float),
            "volume": np.nan,
        }
    )


def perps(oi_btc: list[float], price: list[float], end: str = "2026-02-05T16:00Z") -> pd.DataFrame:
    ts = pd.date_range(end=end, periods=len(oi_btc), freq="8h", tz="UTC")
    oi = np.asarray(oi_btc, float)
    return pd.DataFrame(
        {
            "timestamp": ts,
            "venue": "synthetic",
            "symbol": "BTCUSDT",
            "oi_contracts": oi,
            "oi_btc": oi,
            "oi_usd": oi * np.asarray(price, float),
            "funding_rate": np.nan,
            "funding_interval_h": np.nan,
            "mark_price": np.nan,
            "long_liq_usd": np.nan,
            "short_liq_usd": np.nan,
        }
    )


def option_quotes(
    timestamp: pd.Timestamp,
    expiry: pd.Timestamp,
    forward: float,
    option_type: list[str],
    strike: list[float],
    mark_iv: list[float],
    open_interest: list[float],
    bid_iv: list[float] | None = None,
    index_price: float | None = None,
) -> pd.DataFrame:
    """A synthetic one-expiry `option_quotes` frame (USD-quoted, contract size 1)."""
    from capitulation import tables

    n = len(strike)
    df = pd.DataFrame({c: [np.nan] * n for c in tables.spec("option_quotes").names})
    df = df.assign(
        timestamp=timestamp,
        venue="synthetic",
        instrument=[f"X-{i}" for i in range(n)],
        underlying="BTC",
        expiry=expiry,
        strike=strike,
        option_type=option_type,
        quote_currency="USD",
        mark_iv=mark_iv,
        bid_iv=np.nan if bid_iv is None else bid_iv,
        open_interest=open_interest,
        contract_size=1.0,
        underlying_price=forward,
        index_price=np.nan if index_price is None else index_price,
    )
    return tables.validate("option_quotes", df)
