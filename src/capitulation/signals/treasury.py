"""Signal 6, treasury companies: does Strategy (MSTR) trade at or below the value of its bitcoin, and how
many digital-asset-treasury companies (DATs) do?

`company_table` values every company in `treasury_companies` at spot (the verdict and the `mnav` command
both read it); rows without a share price or capital stack keep what can be computed and say what is missing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from capitulation import tables
from capitulation.analytics.levels import Level
from capitulation.analytics.treasury import dilute, live_instruments, mnav, stress_order
from capitulation.errors import DataError
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, closes, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "treasury", "Treasury companies"

PRICE_BASIS_MISMATCH: tuple[tuple[str, str | None, str], ...] = (
    (
        "NAKA",
        None,
        "recorded closes (prices_daily/NAKA.csv, split-adjusted to 2026-08-03) run 40x the as-traded closes "
        "in treasury_companies/NAKA.json (median ratio 2024-05..2026-02): a reverse split after the filings "
        "whose pre-split share counts the table holds",
    ),
    (
        "ASST",
        "2026-02-06",
        "as-traded closes jump from $0.49 (2026-02-05) to ~$10 (2026-02-06), a reverse split; the tracker's "
        "share counts (40.8M at 2025-09-30, 63.0M in 2026) are on the post-split basis",
    ),
)
"""(ticker, first price date on a matching basis or None for never, evidence): share price and share count
on different split bases, so no market cap is computed from prices before that date."""


@dataclass(frozen=True)
class Thresholds:
    mnav: float = 1.0  # below 1 the market values the company at less than its bitcoin net of claims
    ticker: str = "MSTR"
    max_price_age_days: float = 5.0  # a share or BTC close older than a trading week is not "today's"
    price_basis: tuple[tuple[str, str | None, str], ...] = PRICE_BASIS_MISMATCH


def latest_rows(treasury: pd.DataFrame) -> pd.DataFrame:
    """The latest figures per ticker: the latest row by as_of, each missing field filled from the latest
    earlier row that has it (a quarterly report without a debt figure keeps the last known debt)."""
    ordered = treasury.sort_values(["ticker", "as_of"], kind="stable")
    filled = ordered.groupby("ticker").ffill().assign(ticker=ordered["ticker"])
    return filled.groupby("ticker", as_index=False).tail(1).set_index("ticker")


def _opt(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _money(v: object) -> str:
    """USD with a suffix, or 'not reported (0)' for a field the stack lacks (counted as 0)."""
    return "not reported (0)" if v is None or pd.isna(v) else usd(float(v))


def _recent_close(snap: Snapshot, symbol: str, max_age_days: float) -> tuple[float, pd.Timestamp] | None:
    px = closes(snap, symbol)
    if px.empty or (snap.as_of - px.index[-1]).days > max_age_days:
        return None
    return float(px.iloc[-1]), px.index[-1]


def _mismatch(th: Thresholds, ticker: str, price_date: pd.Timestamp) -> str | None:
    for t, until, why in th.price_basis:
        if t == ticker and (until is None or price_date < pd.Timestamp(until, tz="UTC")):
            return why
    return None


def company_table(
    snap: Snapshot,
    th: Thresholds = Thresholds(),
    *,
    instruments: pd.DataFrame | None = None,
    charges: pd.DataFrame | None = None,
    extra_rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every company's valuation at the last BTC close (USD), most stressed first (`stress_order`).

    Per company, the latest figures (`latest_rows`) of `treasury_companies` plus `extra_rows` public by
    as_of; share price = the company's last close within `max_price_age_days`. The capital stack is known
    when any of debt / preferred / cash is (the others count as 0), unknown (no EV) when none is.
    `instruments` (`sources.treasuries.INSTRUMENT_COLUMNS`): the live ones convert when in the money
    (`analytics.treasury.dilute`) and give the coupon interest; without them convertibles sit in debt at
    face (right while out of the money). `charges` (ticker, as_of, annual_interest_usd,
    annual_preferred_dividends_usd) override that. Columns: ticker, name, as_of, source, status
    ('complete', 'partial', 'not enough data'), missing (short names), note (why), the inputs and every
    `Mnav` field, shares_mnav (basic + converted), converted (what converted).
    `DataError` without a recent BTC close.
    """
    btc = _recent_close(snap, BTC, th.max_price_age_days)
    if btc is None:
        raise DataError(f"treasury: no BTC close within {th.max_price_age_days:g} days of {snap.as_of:%Y-%m-%d}")
    extra = None if extra_rows is None else tables.validate("treasury_companies", extra_rows)
    frames = [df for df in (snap.get("treasury_companies"), extra) if df is not None and not df.empty]
    if not frames:
        raise DataError("treasury: no treasury_companies rows")
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["published"] <= snap.as_of]
    out = [_value(t, r, snap, btc[0], th, instruments, charges) for t, r in latest_rows(rows).iterrows()]
    table = stress_order(pd.DataFrame(out))
    return table.assign(btc_price_usd=btc[0], btc_price_date=btc[1])


COUPON_COVERS_DEBT = 0.95
"""Convertible coupons are taken as the company's annual interest only when the out-of-the-money
convertibles' face makes up at least 95 % of its debt (MSTR: $8.21B face against $8.17B carried debt);
otherwise other debt of unknown cost is in the stack and the interest is unknown."""


def _latest_charges(charges: pd.DataFrame | None, ticker: str, as_of: pd.Timestamp) -> dict[str, float]:
    """The latest user-entered annual charges of `ticker` known by `as_of` (only the fields given)."""
    if charges is None:
        return {}
    mine = charges[(charges["ticker"] == ticker) & (charges["as_of"] <= as_of)].sort_values("as_of")
    out: dict[str, float] = {}
    for col in ("annual_interest_usd", "annual_preferred_dividends_usd"):
        known = mine[col].dropna()
        if not known.empty:
            out[col] = float(known.iloc[-1])
    return out


def _value(
    ticker: str,
    r: pd.Series,
    snap: Snapshot,
    btc_price: float,
    th: Thresholds,
    instruments: pd.DataFrame | None,
    charges: pd.DataFrame | None,
) -> dict[str, object]:
    """One row of `company_table`: the inputs found, the valuation, and what is missing."""
    row: dict[str, object] = {"ticker": ticker, "name": r["name"], "as_of": r["as_of"], "source": r["source"]}
    row |= {k: _opt(r[k]) for k in ("btc_held", "avg_cost_usd", "shares_basic", "debt_usd", "preferred_usd")}
    row |= {"cash_usd": _opt(r["cash_usd"]), "share_price_usd": None, "share_price_date": None}
    missing: dict[str, str] = {}  # short name -> why
    debt, pref, cash = (_opt(r[k]) for k in ("debt_usd", "preferred_usd", "cash_usd"))
    if debt is None and pref is None and cash is None:
        missing["capital stack"] = "capital stack unknown (no debt, preferred or cash figure)"
    else:
        debt, pref, cash = debt or 0.0, pref or 0.0, cash or 0.0
    shares = _opt(r["shares_basic"])
    if shares is None:
        missing["shares"] = "share count unknown"
    quote = _recent_close(snap, ticker, th.max_price_age_days)
    if quote is None:
        missing["share price"] = f"no share price within {th.max_price_age_days:g} days"
    elif (why := _mismatch(th, ticker, quote[1])) is not None:
        missing["price basis"] = f"share price not used: {why}"
        quote = None
    else:
        row |= {"share_price_usd": quote[0], "share_price_date": quote[1]}
    interest, converted = None, ()
    try:
        if instruments is not None and quote is not None and shares is not None:
            live = live_instruments(instruments[instruments["ticker"] == ticker], snap.as_of)
            d = dilute(shares=shares, debt=debt, preferred=pref, cash=cash, share_price=quote[0], instruments=live)
            shares, debt, pref, cash, converted = d.shares, d.debt, d.preferred, d.cash, d.converted
            if debt is not None and d.convertible_face_usd >= COUPON_COVERS_DEBT * debt:
                interest = d.annual_coupon_usd
        given = _latest_charges(charges, ticker, snap.as_of)
        m = mnav(
            btc_held=math.nan if row["btc_held"] is None else row["btc_held"],
            btc_price=btc_price,
            share_price=None if quote is None else quote[0],
            shares=shares,
            debt=debt,
            preferred=pref,
            cash=cash,
            avg_cost=row["avg_cost_usd"],
            annual_interest=given.get("annual_interest_usd", interest),
            annual_dividends=given.get("annual_preferred_dividends_usd", 0.0 if pref == 0.0 else None),
        )
    except DataError as exc:
        return row | {"status": "not enough data", "missing": "input", "note": str(exc), "shares_mnav": None}
    return (
        row
        | asdict(m)
        | {
            "status": "complete" if m.mnav_ev is not None else "partial",
            "missing": ", ".join(missing),
            "note": "; ".join(missing.values()),
            "shares_mnav": shares if m.market_cap_usd is not None else None,
            "converted": "; ".join(converted),
        }
    )


LEVEL_WHY = {
    "mnav1": "below it the company is worth less than its bitcoin net of claims: selling shares to buy BTC "
    "stops adding BTC per share, and buybacks or BTC sales start to make sense",
    "stress": "below it the bitcoin no longer covers debt + preferred: the senior claims are under water",
    "cost": "below it the company's bitcoin is held at a loss: a widely watched line for capitulation headlines",
}


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    tr = snap.get("treasury_companies")
    if tr is None or th.ticker not in set(tr["ticker"]):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"no {th.ticker} capital stack")
    try:
        table = company_table(snap, th)
    except DataError as exc:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, str(exc))
    row = table.set_index("ticker").loc[th.ticker]
    if row["status"] != "complete":
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"{th.ticker}: {row['note'] or 'incomplete'}")
    priced = table[table["mnav_mcap"].notna()]
    stacked = table[table["mnav_ev"].notna()]
    below_mcap = priced[priced["mnav_mcap"] < th.mnav]
    below_ev = stacked[stacked["mnav_ev"] < th.mnav]
    t = ("treasury_companies", "daily_prices")
    metrics = [
        Metric("mnav_ev", row.mnav_ev, "ratio", t),
        Metric("mnav_mcap", row.mnav_mcap, "ratio", t),
        Metric("btc_nav_usd", row.btc_nav_usd, "USD", t),
        Metric("enterprise_value_usd", row.enterprise_value_usd, "USD", t),
        Metric("mnav1_btc_price", row.mnav1_btc_price, "USD", t),
        Metric("stress_btc_price", row.stress_btc_price, "USD", t),
        Metric("leverage", row.leverage, "fraction", t),
        Metric("dats_priced", float(len(priced)), "companies", t),
        Metric("dats_below_mnav1_mcap", float(len(below_mcap)), "companies", t),
        Metric("dats_with_capital_stack", float(len(stacked)), "companies", t),
        Metric("dats_below_mnav1_ev", float(len(below_ev)), "companies", t),
    ]
    if pd.notna(row.avg_cost_usd):
        metrics.append(Metric("avg_cost_usd", row.avg_cost_usd, "USD per BTC", ("treasury_companies",)))
        metrics.append(Metric("unrealised_pnl_usd", row.unrealised_pnl_usd, "USD", t))
    cost = f"; average cost ${row.avg_cost_usd:,.0f}/BTC" if pd.notna(row.avg_cost_usd) else ""
    evidence = [
        f"{row['name']} ({th.ticker}): {row.btc_held:,.0f} BTC as of {row.as_of:%Y-%m-%d}{cost} ({row.source})",
        f"share price ${row.share_price_usd:,.2f} ({row.share_price_date:%Y-%m-%d}) x {row.shares_mnav / 1e6:,.2f}M "
        f"basic shares = {usd(row.market_cap_usd)}; debt {_money(row.debt_usd)}, preferred "
        f"{_money(row.preferred_usd)}, cash {_money(row.cash_usd)} (convertibles in debt at face)",
        f"BTC NAV {usd(row.btc_nav_usd)} at ${row.btc_price_usd:,.0f}; EV {usd(row.enterprise_value_usd)}; mNAV "
        f"(EV) {row.mnav_ev:.3f}, mNAV (market cap) {row.mnav_mcap:.3f}",
        f"mNAV = 1 at BTC ${row.mnav1_btc_price:,.0f}; BTC NAV = debt + preferred at ${row.stress_btc_price:,.0f}",
        f"{len(below_mcap)} of {len(priced)} DATs with a usable share price trade below mNAV 1 on market cap "
        f"({', '.join(below_mcap['ticker']) or 'none'}); {len(below_ev)} of {len(stacked)} with a capital stack "
        f"below 1 on EV",
    ]
    evidence += [
        f"{r.ticker}: mNAV (market cap) {r.mnav_mcap:.2f}"
        + (f", (EV) {r.mnav_ev:.2f}" if pd.notna(r.mnav_ev) else "")
        + f", {r.btc_held:,.0f} BTC as of {r.as_of:%Y-%m-%d}"
        for r in priced.itertuples()
        if r.ticker != th.ticker
    ]
    levels = [
        Level(row.mnav1_btc_price, f"{th.ticker} mNAV = 1 at today's share price", SIGNAL, t, LEVEL_WHY["mnav1"]),
        Level(row.stress_btc_price, f"{th.ticker} BTC NAV = debt + preferred", SIGNAL, t, LEVEL_WHY["stress"]),
    ]
    if pd.notna(row.avg_cost_usd):
        levels.append(Level(row.avg_cost_usd, f"{th.ticker} average cost", SIGNAL, t, LEVEL_WHY["cost"]))
    holds = row.mnav_ev <= th.mnav
    headline = (
        f"{th.ticker} mNAV (EV) {row.mnav_ev:.2f}: {'at or below' if holds else 'above'} its bitcoin NAV; "
        f"{len(below_mcap)} of {len(priced)} priced DATs below mNAV 1 (market cap)"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=tuple(levels))
