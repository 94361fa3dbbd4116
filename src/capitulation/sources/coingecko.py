"""CoinGecko categories, live -> the `sector_returns` table (one row per coin, latest 24h log return).

Public endpoints of the CoinGecko API v3, no API key. One request per category (the public API allows
roughly 5-30 calls a minute, so requests are kept few and every call goes through `http.get_json`, which
retries 429/5xx with backoff):

    GET /coins/markets?vs_currency=usd&category=<id>&order=market_cap_desc&per_page=N&page=1
                      &price_change_percentage=24h

Categories and the `sector` label each row gets (`DEFAULT_CATEGORIES`): the label the sector rotation
signal reads for that thesis sector (the recorded quantbai label where the taxonomy has one, else the
CoinGecko id; a test checks them against the signal's table):

=========================  ==================  =============================================================
CoinGecko category id      thesis sector       `sector` label
=========================  ==================  =============================================================
layer-2                    L2                  eth_scaling (CoinGecko's layer-2 also lists a few non-Ethereum
                                               L2s)
gaming                     GameFi              metaverse_gaming
real-world-assets-rwa      RWA                 real-world-assets-rwa
socialfi                   SocialFi            socialfi
prediction-markets         prediction markets  prediction-markets
=========================  ==================  =============================================================

Rows and units:

* date: UTC midnight of the retrieval day (the day the fetch ended). The return is CoinGecko's rolling 24 h
  USD price change up to each coin's `last_updated`, the latest return the free API gives, known at
  retrieval: it is not a UTC-day close-to-close return, and two fetches on one day give overlapping windows.
  The table contract treats a daily row as known at the end of its day, later than it really was (never
  earlier).
* symbol: CoinGecko's `symbol`, upper-case.
* log_return: ln(1 + price_change_percentage_24h / 100), a natural log return as a fraction
  (-10 % -> ln 0.9 = -0.10536). The `price_change_percentage=24h` query also adds
  `price_change_percentage_24h_in_currency`, the same 24 h window; the plain field is read.

Bad input never stops the other categories, and nothing is stored in its place:

* a category that fails (HTTP error or refused for good after the retries, a body that is not JSON or not a
  list, an empty list, schema drift: an item without `symbol` or `price_change_percentage_24h`, no usable
  coin) gives no rows; it is counted and named, with why, in the provenance notes;
* CoinGecko unreachable (no answer: connection error, timeout, or an `http.budget` spent): the categories not
  yet asked are not asked ("not asked: CoinGecko unreachable");
* a coin whose 24 h change is null, NaN, not a number or <= -100 % (no log return), or that has no symbol, is
  dropped and counted; a coin with the symbol BTC is dropped too (the signal reads symbol BTC as its
  benchmark);
* a symbol listed twice in one sector (two CoinGecko ids, or two categories with the same label) is kept
  once, the listing with the larger market cap (USD).

Every category failing raises `SourceError`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import requests

from capitulation import tables
from capitulation.errors import CapitulationError, DataError, SourceError
from capitulation.snapshot import Provenance
from capitulation.sources import http
from capitulation.sources.http import Backoff, get_json

log = logging.getLogger(__name__)

BASE_URL = "https://api.coingecko.com/api/v3"
MARKETS = "/coins/markets"
MAX_PER_PAGE = 250  # CoinGecko's per_page limit
PCT_FIELD = "price_change_percentage_24h"
REQUIRED_FIELDS = ("symbol", PCT_FIELD)
LICENCE = "CoinGecko API terms (attribution required)"
# The public API counts calls per minute: wait 5, 10, 20 s before giving a category up (4 tries).
DEFAULT_BACKOFF = Backoff(attempts=4, first_delay_s=5.0, factor=2.0, max_delay_s=60.0)

BENCHMARK = "BTC"  # the symbol the sector signal reads as its benchmark: never a sector member
DEFAULT_CATEGORIES: dict[str, str] = {
    "layer-2": "eth_scaling",
    "gaming": "metaverse_gaming",
    "real-world-assets-rwa": "real-world-assets-rwa",
    "socialfi": "socialfi",
    "prediction-markets": "prediction-markets",
}
"""CoinGecko category id -> `sector` label of its rows."""


def log_returns(pct_change: Any) -> np.ndarray:
    """ln(1 + pct / 100) for each percent change (24 h, percent: -10 means -10 %); NaN where the change is
    missing, not a number, infinite or <= -100 % (no log return exists)."""
    pct = pd.to_numeric(pd.Series(pct_change, dtype=object), errors="coerce").to_numpy(dtype=float)
    out = np.full(pct.shape, np.nan)
    ok = np.isfinite(pct) & (pct > -100.0)
    out[ok] = np.log1p(pct[ok] / 100.0)
    return out


@dataclass
class _Category:
    """How one category went: rows kept, coins dropped by reason, or why it failed."""

    category: str
    sector: str
    rows: pd.DataFrame | None = None
    dropped: Counter[str] = field(default_factory=Counter)
    error: str = ""
    unreachable: bool = False  # refused with no answer (connection error, timeout, out of time)

    def note(self, kept: int) -> str:
        head = f"{self.category} -> {self.sector}: "
        if self.error:
            return head + f"failed ({self.error})"
        drops = f"; dropped {sum(self.dropped.values())} ({_counts(self.dropped)})" if self.dropped else ""
        return head + f"{kept} coin(s) kept{drops}"


def fetch_sector_returns(
    categories: Mapping[str, str] = DEFAULT_CATEGORIES,
    *,
    base_url: str = BASE_URL,
    session: requests.Session | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    per_category: int = 50,
) -> tuple[pd.DataFrame, Provenance]:
    """`sector_returns` rows (latest 24 h log return per coin) for the top `per_category` coins by market
    cap of each CoinGecko category, and their provenance (see the module docstring).

    `categories`: CoinGecko category id -> `sector` label. `session`: a `requests` session (default:
    `http.session()`). `SourceError` when no category is asked, `per_category` is outside 1..250, or every
    category fails; a single category's failure is named in the provenance notes.
    """
    if not categories:
        raise SourceError("CoinGecko: no category to fetch")
    if not 1 <= per_category <= MAX_PER_PAGE:
        raise SourceError(f"CoinGecko: per_category must be within 1..{MAX_PER_PAGE}, got {per_category}")
    s = session if session is not None else http.session()
    url = base_url.rstrip("/") + MARKETS
    done: list[_Category] = []
    for cid, label in categories.items():
        if any(c.unreachable for c in done):
            done.append(_Category(cid, label, error="not asked: CoinGecko unreachable"))
        else:
            done.append(_fetch_category(s, url, cid, label, per_category, backoff))
    retrieved_at = http.utc_now()
    answered = [c for c in done if c.rows is not None]
    if not answered:
        raise SourceError("CoinGecko: every category failed: " + "; ".join(f"{c.category}: {c.error}" for c in done))

    rows = pd.concat([c.rows for c in answered if c.rows is not None], ignore_index=True)
    rows = rows.sort_values("market_cap", ascending=False, na_position="last", kind="stable")
    dup = rows.duplicated(["sector", "symbol"])
    dups = sorted({f"{sec} {sym}" for sec, sym in rows.loc[dup, ["sector", "symbol"]].itertuples(index=False)})
    n_dup = int(dup.sum())
    rows = rows[~dup]
    kept = Counter(zip(rows["category"], rows["sector"], strict=True))
    rows = rows.assign(date=retrieved_at.normalize()).sort_values(["sector", "symbol"], ignore_index=True)
    out = tables.validate("sector_returns", rows[list(tables.SECTOR_RETURNS.names)])

    failed = [c for c in done if c.error]
    notes = [c.note(kept[(c.category, c.sector)]) for c in done]
    notes.append(
        f"{len(done) - len(failed)} of {len(done)} categories answered"
        + (f"; failed: {', '.join(c.category for c in failed)}" if failed else "")
    )
    if dups:
        notes.append(f"{n_dup} duplicate listing(s) dropped, the larger market cap kept: {', '.join(dups)}")
    notes.append(
        "date = UTC midnight of the retrieval day; log_return = ln(1 + price_change_percentage_24h / 100), "
        "CoinGecko's rolling 24 h USD change up to each coin's last_updated (the latest return the free API "
        f"gives, known at retrieval); top {per_category} coins by market cap per category"
    )
    used = ", ".join(c.category for c in answered)
    prov = Provenance(
        source=f"CoinGecko API v3: {MARKETS} (categories {used})",
        retrieved_at=retrieved_at.isoformat(),
        licence=LICENCE,
        notes=". ".join(notes) + ".",
    )
    return out, prov


def market_rows(body: Any, category: str, sector: str) -> tuple[pd.DataFrame, Counter[str]]:
    """One category's /coins/markets body -> rows (symbol, sector, log_return, market_cap, category) and
    the coins dropped by reason. `DataError` for a body that is not a non-empty list of coin objects with
    `symbol` and `price_change_percentage_24h`, or one without a usable coin."""
    if not isinstance(body, list):
        raise DataError(f"malformed response: expected a list of coins, got {type(body).__name__}")
    if not body:
        raise DataError("empty list: no coin in the category")
    bad = next((i for i, c in enumerate(body) if not isinstance(c, dict)), None)
    if bad is not None:
        raise DataError(f"malformed response: item {bad} is a {type(body[bad]).__name__}, not a coin object")
    missing = [f for f in REQUIRED_FIELDS if any(f not in c for c in body)]
    if missing:
        raise DataError(f"schema drift: coin(s) without field(s) {', '.join(missing)}")
    symbol = pd.Series([c["symbol"] for c in body], dtype=object)
    symbol = symbol.where(symbol.map(lambda v: isinstance(v, str) and v.strip() != ""))
    symbol = symbol.str.strip().str.upper()
    pct = pd.to_numeric(pd.Series([c[PCT_FIELD] for c in body], dtype=object), errors="coerce")
    cap = pd.to_numeric(pd.Series([c.get("market_cap") for c in body], dtype=object), errors="coerce")
    lr = log_returns(pct)
    reasons = np.select(
        [symbol.isna(), symbol == BENCHMARK, ~np.isfinite(pct), pct <= -100.0],
        ["no symbol", f"symbol {BENCHMARK} (the signal's benchmark)", "no 24h change", "24h change <= -100%"],
        default="",
    )
    dropped = Counter(r for r in reasons if r)
    keep = reasons == ""
    if not keep.any():
        raise DataError(f"no usable coin ({_counts(dropped)})")
    rows = pd.DataFrame(
        {
            "symbol": symbol[keep].astype(str),
            "sector": sector,
            "log_return": lr[keep],
            "market_cap": cap[keep].astype(float),
            "category": category,
        }
    )
    return rows.reset_index(drop=True), dropped


def _fetch_category(
    s: requests.Session, url: str, category: str, sector: str, per_page: int, backoff: Backoff
) -> _Category:
    """One category's request and rows; any failure is kept on the result, never raised."""
    got = _Category(category, sector)
    params = {
        "vs_currency": "usd",
        "category": category,
        "order": "market_cap_desc",
        "per_page": per_page,
        "page": 1,
        "price_change_percentage": "24h",
    }
    try:
        body = get_json(s, url, params, backoff=backoff, what=f"CoinGecko {MARKETS} category={category}")
        got.rows, got.dropped = market_rows(body, category, sector)
    except CapitulationError as exc:
        got.error = str(exc)
        got.unreachable = isinstance(exc, http.RefusedError) and exc.status == 0
        log.warning("CoinGecko category %s left out: %s", category, exc)
    return got


def _counts(c: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))
