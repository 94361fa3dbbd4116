"""Dealer gamma exposure (GEX): USD change of dealers' delta per 1 % move of spot, by strike and in total.

For one instrument on which dealers hold `pos` contracts (signed; + long) of `contract_size` units:

    GEX = pos * gamma(F(S), iv(S)) * F(S)^2 * 0.01 * contract_size          [USD per 1 % move]

* gamma is undiscounted Black-76 d2V/dF2 per 1 underlying unit at the instrument's IV;
* F(S) = F_i S / S0: the expiry's forward F_i (`underlying_price`) moved with spot S in proportion to
  the reference spot S0 (`reference_spot`), so a 1 % spot move is a 1 % move of every forward. The USD
  change of delta is then gamma F^2 0.01, the usual gamma S^2 0.01 with the forward in place of spot
  (they differ by the basis F/S, < 0.1 % for weeklies, a few % for a one-year expiry);
* hedge flow = -GEX: the USD of underlying dealers buy (+) or sell (-) to stay delta-hedged after a
  1 % rise (long gamma: they sell rallies and buy dips; short gamma: they chase the move).

Deribit BTC options are inverse (premium and payoff in BTC). Their USD value is the BTC premium x the
underlying, which is the USD Black-76 price, so a dealer marking in USD has the USD option's delta
N(d1) and gamma - also what the venue publishes as `delta`, `gamma`. (In BTC terms the delta is
N(d1) - premium_btc; that is the hedge of a dealer counting in BTC, not used here.)

Dealer positioning is a choice, named in every result (`DEALER_MODELS`):

* "classic" (SqueezeMetrics): dealers long every call's open interest, short every put's;
* "short_all": dealers short all open interest;
* "trades": signed by trade flow. From a trades frame (instrument, direction 'buy'/'sell' of the
  taker, amount in contracts; optional timestamp: later trades than the chain are ignored) the taker
  net buys b_i = buys - sells and the gross g_i = buys + sells per instrument give the dealer (the
  maker, the other side) position -OI_i b_i / g_i: the sampled flow's imbalance scaled to the whole
  open interest. Instruments without trades count 0 (no evidence either way);
* "trades_net": as "trades" but the position is -b_i contracts as traded, not scaled to OI.

IV as spot moves (`sticky`): "strike" (default) - each instrument keeps its mark IV; "delta" - the
smile moves with spot, so each option keeps the IV of its moneyness: IV_i(S) = smile_e(K_i S0 / S),
the expiry's IV at strike K_i S0 / S on today's smile (same K / F as K_i at F_i S / S0), linear in
ln K between quoted strikes and flat beyond the end strikes. Only the latest timestamp is used; rows
without a forward, mark IV or open interest contribute nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from capitulation.analytics import black76
from capitulation.analytics._black76_kernel import dollar_gamma_profile
from capitulation.analytics.chain import PreparedChain, by_expiry, prepare
from capitulation.choices import Dealer, Sticky
from capitulation.errors import DataError

MOVE = 0.01  # a 1 % move
DEALER_MODELS: dict[str, str] = {
    "classic": "classic: dealers long calls, short puts (open interest)",
    "short_all": "short_all: dealers short all open interest",
    "trades": "trades: dealer = -(taker net buys / gross traded) x open interest per instrument",
    "trades_net": "trades_net: dealer = -(taker net buys) contracts per instrument, as traded",
}
TRADE_COLUMNS = ("instrument", "direction", "amount")


@dataclass(frozen=True)
class GexResult:
    """GEX at one spot: per (expiry, strike) rows and the total, USD per 1 % move, and the dealer model."""

    timestamp: pd.Timestamp
    spot: float
    total_usd: float
    by_strike: pd.DataFrame
    dealer: str

    @property
    def hedge_flow_usd(self) -> float:
        """USD of underlying dealers buy (+) or sell (-) per 1 % rise: -total GEX."""
        return -self.total_usd

    def totals(self) -> dict[str, float]:
        """total_usd_per_1pct (GEX) and hedge_flow_usd_per_1pct_rise (-GEX), USD."""
        return {"total_usd_per_1pct": self.total_usd, "hedge_flow_usd_per_1pct_rise": self.hedge_flow_usd}

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (times ISO UTC, NaN left for the caller's writer): the totals, spot_usd, the dealer
        model and `by_strike`, one record per (expiry, strike) with the columns of `gex_by_strike` (USD per
        1 % move, open interest and dealer positions in contracts)."""
        by = self.by_strike.assign(expiry=[pd.Timestamp(e).isoformat() for e in self.by_strike["expiry"]])
        return {
            "timestamp": self.timestamp.isoformat(),
            "spot_usd": self.spot,
            "dealer_description": self.dealer,
            **self.totals(),
            "by_strike": by.to_dict(orient="records"),
        }


@dataclass(frozen=True)
class Walls:
    """Call wall: strike with the largest |call GEX| summed over expiries; put wall: largest |put GEX|."""

    call_wall: float
    put_wall: float

    def as_dict(self) -> dict[str, float]:
        """call_wall_usd, put_wall_usd (strikes, USD; NaN when that side has no GEX)."""
        return {"call_wall_usd": self.call_wall, "put_wall_usd": self.put_wall}


def reference_spot(quotes: pd.DataFrame | PreparedChain) -> float:
    """S0 at the latest timestamp (USD): the median `index_price` if recorded, else the nearest expiry's
    forward (`chain.PreparedChain.spot`)."""
    return prepare(quotes, "reference_spot").spot


def taker_flow(trades: pd.DataFrame, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per instrument: taker buys, sells, net (= buys - sells) and gross (= buys + sells), in contracts.

    `trades` needs instrument, direction ('buy'/'sell', the taker's side) and amount (contracts); with a
    `timestamp` column, trades after `until` are dropped. `DataError` for missing columns or a direction
    other than buy/sell.
    """
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        raise DataError(f"trades: missing column(s) {', '.join(missing)}")
    t = trades
    if until is not None and "timestamp" in t.columns:
        t = t[t["timestamp"] <= until]
    side = t["direction"].astype("string").str.lower()
    bad = ~side.isin(["buy", "sell"])
    if bad.any():
        raise DataError(f"trades: direction must be 'buy' or 'sell', got {t['direction'][bad].iloc[0]!r}")
    amount = pd.to_numeric(t["amount"], errors="coerce").astype(float)
    if amount.isna().any() or (amount < 0).any():
        raise DataError(f"trades: amount must be a non-negative number, got {t['amount'][~(amount >= 0)].iloc[0]!r}")
    flow = pd.DataFrame(
        {
            "instrument": t["instrument"].astype("string"),
            "buys": amount.where(side == "buy", 0.0),
            "sells": amount.where(side == "sell", 0.0),
        }
    )
    out = flow.groupby("instrument", sort=True)[["buys", "sells"]].sum()
    out["net"] = out["buys"] - out["sells"]
    out["gross"] = out["buys"] + out["sells"]
    return out


def dealer_contracts(
    quotes: pd.DataFrame, dealer: Dealer = "classic", trades: pd.DataFrame | None = None
) -> np.ndarray:
    """Dealers' signed position in contracts for each row of `quotes` (+ long), under `dealer`.

    "trades" / "trades_net" need `trades` (see `taker_flow`; trades after the chain's latest time are
    ignored). `ValueError` for an unknown model or a trades model without trades.
    """
    oi = quotes["open_interest"].to_numpy(dtype=float)
    if dealer == "classic":
        return np.where(quotes["option_type"] == "C", oi, -oi)
    if dealer == "short_all":
        return -oi
    if dealer not in ("trades", "trades_net"):
        raise ValueError(f"dealer must be one of {', '.join(DEALER_MODELS)}, got {dealer!r}")
    if trades is None:
        raise ValueError(f"dealer {dealer!r} needs a trades frame")
    flow = taker_flow(trades, until=quotes["timestamp"].max()).reindex(quotes["instrument"].astype("string"))
    net, gross = flow["net"].fillna(0.0).to_numpy(), flow["gross"].fillna(0.0).to_numpy()
    if dealer == "trades_net":
        return -net
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gross > 0, -oi * net / gross, 0.0)


def _priced(chain: PreparedChain, dealer: Dealer, trades: pd.DataFrame | None) -> pd.DataFrame:
    """The chain's priced rows (forward and IV, with t_years) with dealer contracts; only nonzero positions."""
    q = chain.priced
    q = q.assign(dealer_contracts=dealer_contracts(q, dealer, trades))
    return q[q["dealer_contracts"] != 0]


def _gex(q: pd.DataFrame, spot: float | np.ndarray, s0: float, iv: np.ndarray | None = None) -> np.ndarray:
    """GEX per instrument (last axis); a column of spots (m, 1) gives one row per spot."""
    F = q["underlying_price"].to_numpy(dtype=float) * spot / s0
    vol = q["mark_iv"].to_numpy(dtype=float) if iv is None else iv
    g = black76.gamma(F, q["strike"].to_numpy(dtype=float), q["t_years"].to_numpy(), vol)
    size = q["dealer_contracts"].to_numpy(dtype=float) * q["contract_size"].to_numpy(dtype=float)
    return g * F * F * MOVE * size


def gex_by_strike(
    quotes: pd.DataFrame | PreparedChain,
    spot: float | None = None,
    dealer: Dealer = "classic",
    trades: pd.DataFrame | None = None,
    s0: float | None = None,
) -> GexResult:
    """GEX at spot S (USD; default S0) per (expiry, strike) and in total, sticky strike.

    S0 defaults to `reference_spot(quotes)`. by_strike columns: expiry, strike, forward (F_i S / S0,
    USD), call_oi, put_oi (open interest, contracts), call_dealer, put_dealer (dealers' contracts),
    call_gex_usd, put_gex_usd, gex_usd (= call + put). `quotes`: an `option_quotes` frame or its
    `chain.prepare`d latest chain. `DataError` for an empty chain.
    """
    chain = prepare(quotes, "gex_by_strike")
    s0 = chain.spot if s0 is None else float(s0)
    S = s0 if spot is None else float(spot)
    q = _priced(chain, dealer, trades)
    gex = _gex(q, S, s0)
    is_call = (q["option_type"] == "C").to_numpy()
    oi, pos = q["open_interest"].to_numpy(dtype=float), q["dealer_contracts"].to_numpy(dtype=float)
    rows = pd.DataFrame(
        {
            "expiry": q["expiry"].to_numpy(),
            "strike": q["strike"].to_numpy(dtype=float),
            "forward": q["underlying_price"].to_numpy(dtype=float) * S / s0,
            "call_oi": np.where(is_call, oi, 0.0),
            "put_oi": np.where(is_call, 0.0, oi),
            "call_dealer": np.where(is_call, pos, 0.0),
            "put_dealer": np.where(is_call, 0.0, pos),
            "call_gex_usd": np.where(is_call, gex, 0.0),
            "put_gex_usd": np.where(is_call, 0.0, gex),
        }
    )
    sums = ["call_oi", "put_oi", "call_dealer", "put_dealer", "call_gex_usd", "put_gex_usd"]
    by = rows.groupby(["expiry", "strike"], sort=True).agg({"forward": "first", **dict.fromkeys(sums, "sum")})
    by = by.reset_index()
    by["gex_usd"] = by["call_gex_usd"] + by["put_gex_usd"]
    return GexResult(
        timestamp=chain.timestamp,
        spot=S,
        total_usd=float(by["gex_usd"].sum()),
        by_strike=by,
        dealer=DEALER_MODELS[dealer],
    )


def gex_profile(
    quotes: pd.DataFrame | PreparedChain,
    spots: Sequence[float] | np.ndarray,
    dealer: Dealer = "classic",
    sticky: Sticky = "strike",
    trades: pd.DataFrame | None = None,
    s0: float | None = None,
) -> pd.DataFrame:
    """Total GEX (USD per 1 % move) re-priced at each spot, with IVs sticky by strike or by delta.

    Columns: spot, gex_usd. `DataError` for an empty chain; `ValueError` for an unknown `sticky`.
    """
    chain = prepare(quotes, "gex_profile")
    s0 = chain.spot if s0 is None else float(s0)
    q = _priced(chain, dealer, trades)
    S = np.asarray(spots, dtype=float)
    return pd.DataFrame({"spot": S, "gex_usd": _total_gex(chain, q, S, s0, sticky)})


def _total_gex(chain: PreparedChain, q: pd.DataFrame, spots: np.ndarray, s0: float, sticky: Sticky) -> np.ndarray:
    """Total GEX (USD per 1 % move) at each of `spots` of the priced rows `q` (`_priced`) of `chain`."""
    S = np.asarray(spots, dtype=float)[:, None]
    if sticky == "strike":
        total = np.empty(len(S))
        size = q["dealer_contracts"].to_numpy(dtype=float) * q["contract_size"].to_numpy(dtype=float)
        dollar_gamma_profile(
            q["underlying_price"].to_numpy(dtype=float),
            q["strike"].to_numpy(dtype=float),
            q["t_years"].to_numpy(dtype=float),
            q["mark_iv"].to_numpy(dtype=float),
            size * MOVE,
            np.ascontiguousarray(S[:, 0] / s0),
            total,
        )
        return total
    if sticky == "delta":
        return np.nansum(_gex(q, S, s0, _sticky_delta_iv(chain, q, S, s0)), axis=1)
    raise ValueError(f"sticky must be 'strike' or 'delta', got {sticky!r}")


def _sticky_delta_iv(chain: PreparedChain, q: pd.DataFrame, S: np.ndarray, s0: float) -> np.ndarray:
    """IV_i(S) = smile_e(K_i S0 / S) per instrument (columns) and spot (rows); see the module docstring.

    Each expiry's smile is the mean mark IV per strike over the latest chain (`PreparedChain.smiles`: every
    strike with a forward, whatever its open interest), interpolated linearly in ln K, flat beyond the ends.
    """
    smiles = chain.smiles
    iv = np.empty((len(S), len(q)))
    shift = np.log(s0 / S)  # (m, 1)
    lnk = np.log(q["strike"].to_numpy(dtype=float))
    for exp, cols in q.groupby("expiry").indices.items():
        sm = smiles.loc[exp]
        iv[:, cols] = np.interp(lnk[cols] + shift, np.log(sm.index.to_numpy(dtype=float)), sm.to_numpy())
    return iv


def _nearest_crossing(profile: pd.DataFrame, near: float | None) -> tuple[float, float, float] | None:
    """The zero crossing of a GEX profile nearest `near` (default: the middle of its spot grid): its linear
    interpolation between the two profile points around it, and those two spots; None without a crossing,
    also when GEX is zero everywhere (no gamma: no flip, not a flip at every spot)."""
    p = profile.sort_values("spot")
    s, g = p["spot"].to_numpy(dtype=float), p["gex_usd"].to_numpy(dtype=float)
    if not (g != 0.0).any():
        return None
    found = [(float(s[i]), float(s[i]), float(s[i])) for i in np.flatnonzero(g == 0.0)]
    for i in np.flatnonzero(g[:-1] * g[1:] < 0):
        found.append((float(s[i] - g[i] * (s[i + 1] - s[i]) / (g[i + 1] - g[i])), float(s[i]), float(s[i + 1])))
    if not found:
        return None
    ref = 0.5 * (s[0] + s[-1]) if near is None else near
    return min(found, key=lambda x: abs(x[0] - ref))


def gamma_flip(profile: pd.DataFrame, near: float | None = None) -> float:
    """The spot where total GEX crosses zero, by linear interpolation between profile points (USD).

    With several crossings, the one nearest `near` (default: the middle of the spot grid, normally the
    current spot). NaN when the profile never changes sign or is zero everywhere. Its value depends on the
    grid; the flip a chain reports is `gamma_profile`'s, solved exactly.
    """
    hit = _nearest_crossing(profile, near)
    return float("nan") if hit is None else hit[0]


FLIP_XTOL_USD = 0.01
"""How closely `gamma_profile` solves the flip: to a cent, so every grid that brackets it gives one value."""
PROFILE_GRID = 0.2
PROFILE_POINTS = 201
"""The GEX profile spans spot x (1 -/+ 20 %) in 201 steps (0.2 % apart) unless told otherwise."""


@dataclass(frozen=True)
class GammaProfile:
    """Total dealer GEX over a spot grid (`profile`: spot, gex_usd) and the gamma flip (USD; NaN when GEX does
    not change sign on the grid): the zero crossing nearest the reference spot S0, solved to `FLIP_XTOL_USD`
    by Brent's method between the two grid spots around it, so it does not depend on the grid's spacing."""

    profile: pd.DataFrame
    flip: float

    def as_dict(self) -> dict[str, object]:
        """gamma_flip_usd (NaN without a crossing) and `profile`: [{spot_usd, gex_usd_per_1pct}, ...]."""
        p = self.profile
        points = zip(p["spot"].to_numpy(dtype=float).tolist(), p["gex_usd"].to_numpy(dtype=float).tolist(), strict=True)
        return {"gamma_flip_usd": self.flip, "profile": [{"spot_usd": s, "gex_usd_per_1pct": g} for s, g in points]}


def gamma_profile(
    quotes: pd.DataFrame | PreparedChain,
    dealer: Dealer = "classic",
    sticky: Sticky = "strike",
    trades: pd.DataFrame | None = None,
    s0: float | None = None,
    grid: float = PROFILE_GRID,
    points: int = PROFILE_POINTS,
) -> GammaProfile:
    """`gex_profile` over S0 x (1 -/+ `grid`) in `points` steps and the gamma flip of that chain (see
    `GammaProfile`): the one computation of the flip that every command, chart and backfill prints."""
    chain = prepare(quotes, "gex_profile")
    s0 = chain.spot if s0 is None else float(s0)
    q = _priced(chain, dealer, trades)
    spots = s0 * np.linspace(1 - grid, 1 + grid, points)
    profile = pd.DataFrame({"spot": spots, "gex_usd": _total_gex(chain, q, spots, s0, sticky)})
    hit = _nearest_crossing(profile, s0)
    if hit is None:
        return GammaProfile(profile, float("nan"))
    guess, lo, hi = hit
    if lo == hi:  # GEX is exactly zero at a grid spot
        return GammaProfile(profile, guess)

    def total(spot: float) -> float:
        return float(_total_gex(chain, q, np.array([spot]), s0, sticky)[0])

    return GammaProfile(profile, float(brentq(total, lo, hi, xtol=FLIP_XTOL_USD)))


def walls(by_strike: pd.DataFrame) -> Walls:
    """Call and put walls (USD strikes) from `GexResult.by_strike`; NaN when that side has no GEX."""
    per = by_strike.groupby("strike")[["call_gex_usd", "put_gex_usd"]].sum().abs()

    def top(col: str) -> float:
        return float(per[col].idxmax()) if len(per) and per[col].max() > 0 else float("nan")

    return Walls(call_wall=top("call_gex_usd"), put_wall=top("put_gex_usd"))


def max_pain(quotes: pd.DataFrame | PreparedChain) -> pd.DataFrame:
    """Per expiry at the latest timestamp: the listed strike P minimising what option holders are paid.

    payout(P) = sum_calls OI c (P - K)+ + sum_puts OI c (K - P)+   [USD; OI in contracts of c units]

    Deribit pays an inverse option's (P - K)+ / P BTC per unit, worth the same USD at settlement, so the
    USD payout ranks candidates. Columns: expiry, max_pain (USD), payout_usd (at it), open_interest
    (contracts). Expiries without open interest are left out. `DataError` for an empty chain.
    """
    q = prepare(quotes, "max_pain").rows
    q = q[(q["expiry"] > q["timestamp"]) & (q["open_interest"] > 0)]
    strike, oi = q["strike"].to_numpy(dtype=float), q["open_interest"].to_numpy(dtype=float)
    units_all, is_call = oi * q["contract_size"].to_numpy(dtype=float), (q["option_type"] == "C").to_numpy()
    rows = []
    for exp, at in by_expiry(q):
        K, units, call = strike[at], units_all[at], is_call[at]
        P = np.unique(K)[:, None]
        payout = np.where(call, np.maximum(P - K, 0.0), np.maximum(K - P, 0.0)) @ units
        best = int(np.argmin(payout))
        rows.append((exp, float(P[best, 0]), float(payout[best]), float(oi[at].sum())))
    return pd.DataFrame(rows, columns=["expiry", "max_pain", "payout_usd", "open_interest"])
