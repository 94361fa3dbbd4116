"""One preparation of an option chain, shared by the smile, GEX, walls, max pain and the gamma flip.

`prepare(quotes)` keeps the rows of the latest timestamp of an `option_quotes` frame and adds, once:

* t_years     ACT/365 from the quote time to expiry (`timeutil.year_fraction`);
* call_delta  undiscounted Black-76 N(d1) at the expiry's forward F (`underlying_price`) and the mark IV;
  NaN without a forward, with t_years <= 0 or a non-positive mark IV.

The reference spot S0 (`PreparedChain.spot`), the rows that can be priced (`priced`: a call delta) and the
per-expiry smiles in strike (`smiles`) are computed on first use and kept. Every analytic of
`analytics.smile` and `analytics.gex` takes a `PreparedChain` or a raw `option_quotes` frame (prepared on
the spot), so `signals.options_stress.summarize` prepares a chain once for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from capitulation.analytics import black76
from capitulation.errors import DataError
from capitulation.timeutil import year_fraction


def latest(quotes: pd.DataFrame, who: str) -> pd.DataFrame:
    """The rows of the latest timestamp in an `option_quotes` frame; `DataError` when there are none."""
    if quotes is None or len(quotes) == 0:
        raise DataError(f"{who}: empty option chain (no option_quotes rows)")
    return quotes[quotes["timestamp"] == quotes["timestamp"].max()]


def with_call_delta(quotes: pd.DataFrame) -> pd.DataFrame:
    """Add t_years (ACT/365 to expiry) and call_delta (Black-76 N(d1) at underlying_price and mark_iv).

    Rows without a forward, with t_years <= 0 or a non-positive mark IV get NaN call_delta.
    """
    t = year_fraction(quotes["timestamp"], quotes["expiry"])
    F = quotes["underlying_price"].to_numpy(dtype=float)
    cd = black76.delta(F, quotes["strike"].to_numpy(dtype=float), t, quotes["mark_iv"].to_numpy(dtype=float), True)
    return quotes.assign(t_years=t, call_delta=cd)


@dataclass(frozen=True)
class PreparedChain:
    """The latest rows of one chain (`rows`: the `option_quotes` columns plus t_years and call_delta) at
    `timestamp`; build it with `prepare`. Immutable: its derived figures are computed once, on first use."""

    rows: pd.DataFrame
    timestamp: pd.Timestamp

    @cached_property
    def spot(self) -> float:
        """S0 (USD): the median `index_price` if recorded, else the median forward of the nearest live expiry.

        The nearest forward stands in for spot when the chain records no index (basis over < 1 day is a few
        USD on BTC). `DataError` when the chain has neither.
        """
        q = self.rows
        idx = q["index_price"].dropna()
        if len(idx):
            return float(idx.median())
        live = q[q["underlying_price"].notna() & (q["expiry"] > q["timestamp"])]
        if live.empty:
            raise DataError("reference_spot: no index price and no forward (underlying_price) in the chain")
        return float(live.loc[live["expiry"] == live["expiry"].min(), "underlying_price"].median())

    @cached_property
    def priced(self) -> pd.DataFrame:
        """The rows with a call delta (a forward, t_years > 0 and a positive mark IV): those GEX can price."""
        return self.rows[self.rows["call_delta"].notna()]

    @cached_property
    def smiles(self) -> pd.Series:
        """Mean mark IV (fraction) per (expiry, strike) of the priced rows, sorted: each expiry's smile in strike."""
        return self.priced.groupby(["expiry", "strike"], sort=True)["mark_iv"].mean()

    def select(self, expiry: pd.Timestamp) -> PreparedChain:
        """The same chain restricted to one expiry (t_years and call deltas kept, not recomputed)."""
        return PreparedChain(self.rows[self.rows["expiry"] == expiry], self.timestamp)


def by_expiry(rows: pd.DataFrame) -> list[tuple[pd.Timestamp, np.ndarray]]:
    """(expiry, positions of its rows in `rows`, in row order) for each expiry of `rows`, ascending: the
    groups of `rows.groupby("expiry", sort=True)` without building a frame per group."""
    codes, expiries = pd.factorize(rows["expiry"], sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(expiries) + 1))
    return [(pd.Timestamp(e), order[bounds[i] : bounds[i + 1]]) for i, e in enumerate(expiries)]


def prepare(quotes: pd.DataFrame | PreparedChain, who: str = "option chain") -> PreparedChain:
    """The latest chain of `quotes` prepared once (see the module docstring); a `PreparedChain` as it is.

    `DataError` naming `who` for an empty chain.
    """
    if isinstance(quotes, PreparedChain):
        return quotes
    rows = with_call_delta(latest(quotes, who))
    return PreparedChain(rows, rows["timestamp"].max())
