"""Response bodies shared by the live-source tests and the `watch` test that replays every source at once.

`dvol_body` is BUILT from real recorded DVOL rows in the documented get_volatility_index_data shape (not a
capture). The mempool.space and CoinGecko bodies are SYNTHETIC (schema from the provider's API docs; numbers made up):
no recording of either exists in ../shared/data/api_fixtures (see its PROVENANCE.md). The Deribit instruments
answer is HAND-EDITED here from a recorded row (see `deribit_option_instruments`).
"""

from __future__ import annotations

import json

import pandas as pd


def ts(when: str) -> int:
    """Unix seconds of a UTC time."""
    return int(pd.Timestamp(when, tz="UTC").timestamp())


def dvol_body(rows: pd.DataFrame, continuation: int | None = None) -> str:
    """A Deribit public/get_volatility_index_data answer ({"result": {"data": [[ts_ms, open, high, low, close]],
    "continuation"}}) holding `rows` (vol_index rows, fractions) back in vol points, oldest first."""
    data = [
        [int(r.date.value // 1_000_000), *(round(getattr(r, c) * 100, 2) for c in ("open", "high", "low", "close"))]
        for r in rows.sort_values("date").itertuples()
    ]
    return json.dumps({"jsonrpc": "2.0", "result": {"data": data, "continuation": continuation}})


# ---- SYNTHETIC bodies (schema from the mempool.space API docs; numbers made up) ---------------------------------


def hashrate_body() -> dict:
    """SYNTHETIC (schema from the mempool.space API docs; numbers made up)."""
    return {
        "hashrates": [  # each stamped at the midnight that ends its day
            {"timestamp": ts("2025-06-01"), "avgHashrate": 6.0e20},  # day 2025-05-31: 6.0e20 / 1e18 = 600 EH/s
            {"timestamp": ts("2025-06-02"), "avgHashrate": 6.5e20},  # day 2025-06-01: 650 EH/s
            {"timestamp": ts("2025-06-03"), "avgHashrate": 7.0e20},  # day 2025-06-02: 700 EH/s
        ],
        "difficulty": [
            {"time": ts("2025-05-18T06:00"), "height": 897_120, "difficulty": 1.0e14, "adjustment": 1.0},
            {"time": ts("2025-06-01T10:00"), "height": 899_136, "difficulty": 1.25e14, "adjustment": 1.25},
        ],
        "currentHashrate": 8.0e20,  # today (in progress): 800 EH/s
        "currentDifficulty": 1.25e14,
    }


def fees_body() -> list[dict]:
    """SYNTHETIC (schema from the mempool.space API docs; numbers made up): 2-hour buckets of per-block fees."""
    return [
        {"avgHeight": 898_990, "timestamp": ts("2025-05-31T19:00"), "avgFees": 2.0e7},
        {"avgHeight": 899_000, "timestamp": ts("2025-05-31T23:00"), "avgFees": 3.0e7},
        # 2025-05-31: (2.0e7 + 3.0e7) / 2 = 2.5e7 sats = 0.25 BTC per block; height max(898,990, 899,000) = 899,000
        {"avgHeight": 899_150, "timestamp": ts("2025-06-01T23:00"), "avgFees": 1.0e7},  # 0.10 BTC; 899,150
        {"avgHeight": 899_300, "timestamp": ts("2025-06-02T23:00"), "avgFees": 5.0e7},  # 0.50 BTC; 899,300
        {"avgHeight": 899_350, "timestamp": ts("2025-06-03T11:00"), "avgFees": 4.0e6},  # today so far: 0.04 BTC
    ]


TIP_BODY = "899400"  # SYNTHETIC (schema from the mempool.space API docs; numbers made up)


def coin(cg_id: str, symbol: str, pct: object, market_cap: float | None, price: float = 1.0) -> dict:
    """One /coins/markets item, SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up)."""
    change = None if not isinstance(pct, int | float) else price - price / (1 + pct / 100) if pct > -100 else None
    return {
        "id": cg_id,
        "symbol": symbol,
        "name": cg_id.title(),
        "image": f"https://coin-images.coingecko.com/coins/images/1/large/{cg_id}.png",
        "current_price": price,
        "market_cap": market_cap,
        "market_cap_rank": 100,
        "fully_diluted_valuation": market_cap,
        "total_volume": 10_000_000.0,
        "high_24h": price,
        "low_24h": price,
        "price_change_24h": change,
        "price_change_percentage_24h": pct,
        "market_cap_change_24h": 0.0,
        "market_cap_change_percentage_24h": 0.0,
        "circulating_supply": 1_000_000_000.0,
        "total_supply": 1_000_000_000.0,
        "max_supply": None,
        "ath": 10.0,
        "ath_change_percentage": -90.0,
        "ath_date": "2024-01-01T00:00:00.000Z",
        "atl": 0.1,
        "atl_change_percentage": 900.0,
        "atl_date": "2023-01-01T00:00:00.000Z",
        "roi": None,
        "last_updated": "2026-03-01T12:30:00.000Z",
        "price_change_percentage_24h_in_currency": pct,
    }


def body(*coins: dict) -> str:
    return json.dumps(list(coins))


# SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up), one body per default category.
LAYER2 = body(coin("arbitrum", "arb", -10.0, 1e9), coin("optimism", "op", 25.0, 8e8), coin("mantle", "mnt", 0.0, 5e8))
GAMING = body(coin("immutable-x", "imx", -50.0, 2e9), coin("axie-infinity", "axs", 100.0, 1e9))
RWA = body(coin("ondo-finance", "ondo", 10.0, 3e9))
SOCIALFI = body(coin("cyberconnect", "cyber", -20.0, 1e8))
PREDICTION = body(coin("polymarket-demo", "poly", 5.0, 4e8))


MAR25_EXPIRY_MS = 1743148800000  # 2025-03-28T08:00:00Z, Deribit's settlement hour


def deribit_option_instruments(recorded: dict) -> dict:
    """The kind=option answer for the SYNTHETIC recorded book summary (BTC-28MAR25-90000-C/P): the recorded
    instruments answer's one option row (BTC-27DEC24-100000-C, hand-edited upstream) plus two copies of it
    HAND-EDITED HERE into BTC-28MAR25-90000-C and -P (name, strike, type, expiry; the rest as recorded)."""
    option = next(r for r in recorded["result"] if r["kind"] == "option")
    edited = [
        {
            **option,
            "instrument_name": f"BTC-28MAR25-90000-{t[0].upper()}",
            "strike": 90000.0,
            "option_type": t,
            "expiration_timestamp": MAR25_EXPIRY_MS,
        }
        for t in ("call", "put")
    ]
    return {**recorded, "result": [option, *edited]}
