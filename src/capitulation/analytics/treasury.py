"""Treasury-company valuation: BTC NAV, enterprise value and mNAV (all USD unless a name says BTC).

btc_nav   = btc_held x btc_price                 nav_at_cost = btc_held x avg_cost
mcap      = share_price x shares
ev        = mcap + debt + preferred - cash
mNAV (EV) = ev / btc_nav            mNAV (mcap) = mcap / btc_nav
BTC price where mNAV(EV) = 1        = ev / btc_held
BTC price where NAV = debt + pref   = (debt + preferred) / btc_held   (the stress line)
unrealised P&L                      = btc_held x (btc_price - avg_cost)

Convertibles and other dilutive instruments (`dilute`): a convertible note is debt at face while out of
the money and shares when in the money (share price >= conversion price), never both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.choices import SEED_DATE  # noqa: F401  (the seed's day, beside its inputs below)
from capitulation.errors import DataError


@dataclass(frozen=True)
class Mnav:
    """One company's valuation. Fields that need a missing input (share price, shares, the capital
    stack, the cost basis, annual charges) are None."""

    btc_held: float
    btc_price: float
    btc_nav_usd: float
    market_cap_usd: float | None
    enterprise_value_usd: float | None
    mnav_ev: float | None
    mnav_mcap: float | None
    btc_per_share: float | None
    mnav1_btc_price: float | None
    stress_btc_price: float | None
    leverage: float | None
    unrealised_pnl_usd: float | None
    avg_cost_usd: float | None = None
    btc_nav_at_cost_usd: float | None = None
    annual_interest_usd: float | None = None
    annual_preferred_dividends_usd: float | None = None
    interest_to_nav: float | None = None
    dividends_to_nav: float | None = None


def _positive(name: str, v: float) -> None:
    if isinstance(v, bool) or not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
        raise DataError(f"mnav: {name} must be a positive number, got {v!r}")


def _non_negative(name: str, v: float) -> None:
    if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
        raise DataError(f"mnav: {name} must be a non-negative number, got {v!r}")


def mnav(
    *,
    btc_held: float,
    btc_price: float,
    share_price: float | None = None,
    shares: float | None = None,
    debt: float | None = 0.0,
    preferred: float | None = 0.0,
    cash: float | None = 0.0,
    avg_cost: float | None = None,
    annual_interest: float | None = None,
    annual_dividends: float | None = None,
) -> Mnav:
    """mNAV of one company. Inputs in BTC, USD per BTC, USD per share, shares and USD (annual charges
    in USD per year).

    None means unknown: without share price or shares there is no market cap (nor mNAV); with any of
    debt / preferred / cash None the capital stack is unknown (no EV, stress line or leverage).
    `leverage` = (debt + preferred) / btc_nav and `interest_to_nav`, `dividends_to_nav` are fractions.
    Non-positive holdings, prices or shares, or negative money amounts raise `DataError`.
    """
    _positive("btc_held", btc_held)
    _positive("btc_price", btc_price)
    for k, v in {"share_price": share_price, "shares": shares, "avg_cost": avg_cost}.items():
        if v is not None:
            _positive(k, v)
    money = {"debt": debt, "preferred": preferred, "cash": cash}
    money |= {"annual_interest": annual_interest, "annual_dividends": annual_dividends}
    for k, v in money.items():
        if v is not None:
            _non_negative(k, v)
    nav = btc_held * btc_price
    cap = share_price * shares if share_price is not None and shares is not None else None
    claims = debt + preferred if debt is not None and preferred is not None and cash is not None else None
    ev = cap + claims - cash if cap is not None and claims is not None and cash is not None else None
    return Mnav(
        btc_held=btc_held,
        btc_price=btc_price,
        btc_nav_usd=nav,
        market_cap_usd=cap,
        enterprise_value_usd=ev,
        mnav_ev=None if ev is None else ev / nav,
        mnav_mcap=None if cap is None else cap / nav,
        btc_per_share=None if shares is None else btc_held / shares,
        mnav1_btc_price=None if ev is None else ev / btc_held,
        stress_btc_price=None if claims is None else claims / btc_held,
        leverage=None if claims is None else claims / nav,
        unrealised_pnl_usd=None if avg_cost is None else btc_held * (btc_price - avg_cost),
        avg_cost_usd=avg_cost,
        btc_nav_at_cost_usd=None if avg_cost is None else btc_held * avg_cost,
        annual_interest_usd=annual_interest,
        annual_preferred_dividends_usd=annual_dividends,
        interest_to_nav=None if annual_interest is None else annual_interest / nav,
        dividends_to_nav=None if annual_dividends is None else annual_dividends / nav,
    )


@dataclass(frozen=True)
class Dilution:
    """The capital stack after converting what is in the money at one share price (shares; USD)."""

    shares: float
    debt: float | None
    preferred: float | None
    cash: float | None
    converted: tuple[str, ...]
    convertible_face_usd: float
    annual_coupon_usd: float | None


def live_instruments(instruments: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Instruments outstanding on `as_of`: issued on or before it (or issue date unknown) and not expired
    before it (or no expiry). Matured or redeemed notes drop out here."""
    issued = instruments["issued"]
    expiry = instruments["expiration"]
    keep = (issued.isna() | (issued <= as_of)) & (expiry.isna() | (expiry >= as_of))
    return instruments[keep]


CONVERTS = ("convertible", "preferred")  # in the money at share price >= conversion price
EXERCISES = ("warrant", "option")  # in the money at share price > exercise price
FREE = ("rsu", "free_shares")  # nothing to pay: always shares


def in_the_money(kind: str, share_price: float | np.ndarray, strike: float) -> bool | np.ndarray:
    """Whether an instrument of `kind` turns into shares at `share_price` (USD/share, a number or an array):
    convertibles and convertible preferred at price >= strike, warrants and options at price > strike,
    RSUs and free shares always, any other kind never; an unknown (NaN) strike never converts."""
    price = np.asarray(share_price, dtype=float)
    if kind in FREE:
        out = np.ones(price.shape, dtype=bool)
    elif kind in CONVERTS:
        out = price >= strike
    elif kind in EXERCISES:
        out = price > strike
    else:
        out = np.zeros(price.shape, dtype=bool)
    return out if out.ndim else bool(out)


def dilute(
    *,
    shares: float,
    debt: float | None,
    preferred: float | None,
    cash: float | None,
    share_price: float,
    instruments: pd.DataFrame,
) -> Dilution:
    """Treasury-style dilution of live `instruments` (see `live_instruments`) at `share_price` (USD/share).

    Columns: kind, face_value_usd, strike_usd (conversion or exercise price, USD/share), potential_shares,
    coupon (annual, fraction; NaN unknown). In the money (`in_the_money`):
    * 'convertible' note: + potential shares, - face from debt; out of the money it stays in debt at face
      and pays face x coupon a year;
    * 'preferred' (convertible preferred): + potential shares, - face from preferred;
    * 'warrant' / 'option': + potential shares and + strike x potential shares to cash (exercise proceeds);
    * 'rsu' / 'free_shares' (nothing to pay): + potential shares.
    Unknown debt / preferred / cash stay None. `convertible_face_usd` sums the face of the out-of-the-money
    convertibles, `annual_coupon_usd` their face x coupon (None unless every one has both).
    """
    add, minus_debt, minus_pref, proceeds, coupon, face_otm = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    coupon_known = True
    converted: list[str] = []
    columns = ("kind", "face_value_usd", "potential_shares", "strike_usd", "coupon")
    for kind, face_value, potential, strike_usd, rate in zip(*(instruments[c].tolist() for c in columns), strict=True):
        face = 0.0 if pd.isna(face_value) else float(face_value)
        n = 0.0 if pd.isna(potential) else float(potential)
        strike = float(strike_usd) if pd.notna(strike_usd) else math.nan
        if in_the_money(kind, share_price, strike):
            add += n
            if kind == "convertible":
                minus_debt += face
            elif kind == "preferred":
                minus_pref += face
            elif kind in EXERCISES:
                proceeds += strike * n
            if kind not in FREE:
                converted.append(f"{kind} at ${strike:,.2f} -> {n:,.0f} shares")
        elif kind == "convertible":
            coupon_known &= pd.notna(rate) and pd.notna(face_value)
            face_otm += face
            coupon += face * (0.0 if pd.isna(rate) else float(rate))
    return Dilution(
        shares=shares + add,
        debt=None if debt is None else max(debt - minus_debt, 0.0),
        preferred=None if preferred is None else max(preferred - minus_pref, 0.0),
        cash=None if cash is None else cash + proceeds,
        converted=tuple(converted),
        convertible_face_usd=face_otm,
        annual_coupon_usd=coupon if coupon_known else None,
    )


def converted_shares(instruments: pd.DataFrame, share_close: pd.Series) -> pd.Series:
    """Shares the `treasury_instruments` rows add on each day of `share_close` (USD/share, indexed by day):
    the potential shares of those known (`known`), outstanding (as `live_instruments`) and in the money
    (`in_the_money`) at that day's close, as `dilute` counts them for one day."""
    days = share_close.index
    price = share_close.to_numpy(dtype=float)
    add = np.zeros(len(days))
    for r in instruments.itertuples():
        n = 0.0 if pd.isna(r.potential_shares) else float(r.potential_shares)
        strike = float(r.strike_usd) if pd.notna(r.strike_usd) else math.nan
        live = np.asarray(days >= r.known)
        if pd.notna(r.issued):
            live &= days >= r.issued
        if pd.notna(r.expiration):
            live &= days <= r.expiration
        add += np.where(live & in_the_money(r.kind, price, strike), n, 0.0)
    return pd.Series(add, index=days, name="converted_shares")


def stress_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows most stressed first: highest leverage ((debt + preferred) / BTC NAV, how close BTC is to the
    stress line), then lowest mNAV (EV, else market cap); rows without either last. The three columns are
    numeric (NaN where unknown): a column of None would not sort."""
    key_mnav = table["mnav_ev"].fillna(table["mnav_mcap"])
    ranked = table.assign(_lev=-table["leverage"], _mnav=key_mnav)
    ranked = ranked.sort_values(["_lev", "_mnav"], na_position="last", kind="stable")
    return ranked.drop(columns=["_lev", "_mnav"]).reset_index(drop=True)


def mnav_history(
    holdings: pd.DataFrame, share_close: pd.Series, btc_close: pd.Series, instruments: pd.DataFrame | None = None
) -> pd.Series:
    """Daily mNAV by market cap of one company = share close x shares / (btc_held x BTC close).

    `holdings`: btc_held (BTC) and shares_basic (shares), indexed by the time each pair became known,
    ascending; each day (a close stamped at 00:00 UTC of its date, USD) takes the latest pair known by then,
    so a past day never sees figures published after it. shares = shares_basic + the company's
    `instruments` converted that day (`converted_shares`; none without them). Days before the first pair,
    without both closes, or with a non-positive input are left out.
    """
    days = share_close.index.intersection(btc_close.index).sort_values()
    if holdings.empty or days.empty:
        return pd.Series(dtype=float, name="mnav_mcap")
    left = pd.DataFrame({"day": days})
    right = holdings[["btc_held", "shares_basic"]].rename_axis("known").reset_index()
    known = pd.merge_asof(left, right, left_on="day", right_on="known", direction="backward").set_index("day")
    close = share_close.reindex(days)
    shares = known["shares_basic"]
    if instruments is not None:
        shares = shares + converted_shares(instruments, close)
    m = close * shares / (known["btc_held"] * btc_close.reindex(days))
    ok = (known["btc_held"] > 0) & (known["shares_basic"] > 0) & (close > 0)
    return m[ok & m.notna()].rename("mnav_mcap")


# The seed commentary on Strategy (MSTR) around 2026-02-05: its inputs, its printed results, and the inputs
# its printed EV and mNAV actually follow from. It valued the bitcoin at cost (66,044 USD/BTC) although
# its own definition of mNAV uses spot. Its day, `SEED_DATE`, is in `choices` (the preset's default as_of).
SEED_INPUTS = {"btc_held": 713_502.0, "btc_price": 66_044.0, "share_price": 106.99, "shares": 289.34e6}
SEED_AS_PRINTED = {"debt": 822e6, "cash": 5.4e6}
SEED_PUBLISHED = {"btc_nav_usd": 4.71e9, "enterprise_value_usd": 3.9126e9, "mnav_ev": 0.832}
SEED_RECONCILED = {"debt": 8.22e9, "cash": 54e6}


def seed_as_printed() -> Mnav:
    """The seed's inputs as printed (debt $822M, cash $5.4M): NAV $47.12B, EV $31.77B, mNAV 0.674."""
    return mnav(**SEED_INPUTS, **SEED_AS_PRINTED)


def seed_reconciled() -> Mnav:
    """The inputs the seed's printed EV ($3.9126B, 10x too small) follows from: debt $8.22B and cash $54M
    give EV $39.12B and mNAV 0.830; the text slipped a decimal place in NAV, EV, debt and cash."""
    return mnav(**SEED_INPUTS, **SEED_RECONCILED)
