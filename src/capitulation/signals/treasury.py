"""Signal 6, treasury companies: does Strategy (MSTR) trade at or below the value of its bitcoin, and how
many digital-asset-treasury companies (DATs) do?

`company_table` values every company of the snapshot's `treasury_companies` at spot with its capital stack
(`treasury_instruments`: convertibles that convert when in the money; `treasury_charges`: annual interest and
dividends): the verdict, `capitulation mnav` and the dashboard all read it, so they show the same numbers.
Rows without a share price or capital stack keep what can be computed and say what is missing.

The verdict decides on mNAV by enterprise value where MSTR's capital stack is known (the 8-K rows from
2025-10 on) and by market cap before (holdings and shares from its quarterly reports), and says which. Its
evidence scores the same rule on the premium's own history before as_of: MSTR's mNAV by market cap at the
troughs and peaks of the confirmed 20 %+ BTC drawdowns (`mnav_history`, `analytics.events.drawdowns`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from capitulation.analytics.levels import Level
from capitulation.analytics.treasury import Mnav, dilute, live_instruments, mnav, mnav_history, stress_order
from capitulation.errors import DataError
from capitulation.formats import usd
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, btc_drawdowns, closes
from capitulation.snapshot import Derived, Snapshot, cut_days
from capitulation.tables import DAILY_PRICES
from capitulation.timeutil import DAY_CLOSE, age_days
from capitulation.verdict import Metric, Status, Verdict

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
    # Holds at mNAV <= 1: the market values the company at or below its bitcoin (net of claims where EV is
    # known), the premium that funds buying with new shares is gone. The economic line, not fitted; the
    # history supports it over a relative rule. MSTR's mNAV at COMMON.md's 20 %+ drawdowns (market cap
    # before 2025-10, quarterly holdings from 2021-02): <= 1 at 4 of 11 troughs (2022-01-22 0.92, 2022-06-18
    # 0.77, 2022-11-21 0.87, 2026-02-05 EV 0.99) and 0 of 10 peaks (lowest: 2022-03-29, 1.06); "in the
    # lowest fifth of its own trailing year" holds at 3 troughs and 2 peaks (2022-03-29, 2025-10-06: the
    # premium compressed for months before BTC's top) and never at the 2023-2025 corrections' troughs.
    mnav: float = 1.0
    ticker: str = "MSTR"
    max_price_age_days: float = 5.0  # a share or BTC close older than a trading week is not "today's"
    # Quarterly reports: a quarter's figures are published up to ~45 days (10-Q) or ~60 days (10-K) after
    # its end and replaced one quarter later, so the latest holdings are up to ~150-180 days old.
    max_holdings_age_days: float = 200.0
    drawdown: float = 0.2  # the BTC drawdowns the history evidence is scored on (as analytics.events)
    history_days: int = 365  # the premium's trailing history shown beside today's mNAV
    price_basis: tuple[tuple[str, str | None, str], ...] = PRICE_BASIS_MISMATCH


def latest_rows(treasury: pd.DataFrame) -> pd.DataFrame:
    """The latest figures per ticker: the latest row by as_of (on a tie, the later row of the table: the
    capital-stack file's rows come last), each missing field filled from the latest earlier row that has it
    (a quarterly report without a debt figure keeps the last known debt)."""
    ordered = treasury.sort_values(["ticker", "as_of"], kind="stable")
    filled = ordered.groupby("ticker").ffill().assign(ticker=ordered["ticker"])
    return filled.groupby("ticker", as_index=False).tail(1).set_index("ticker")


def _latest_known(snap: Snapshot) -> pd.DataFrame | None:
    """`latest_rows` of the `treasury_companies` rows published by as_of, None without any. Computed once per
    publication time on the snapshot `upto` cut this one from (its `memo`; the snapshot itself without one):
    the dates between two publications share one table, as they share the rows."""
    base = snap.origin or snap
    tr = base.get("treasury_companies")
    if tr is None:
        return None
    key = ("publications", "treasury_companies")  # (what, the table it reads): see `Snapshot.memo`
    steps = base.memo(key, lambda: pd.DatetimeIndex(tr["published"].unique()).sort_values())
    k = int(steps.searchsorted(snap.as_of, side="right"))  # the publication times up to as_of
    if k == 0:
        return None
    return base.memo(("latest_rows", "treasury_companies", k), lambda: latest_rows(tr[tr["published"] <= steps[k - 1]]))


def holdings_known(treasury: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """`ticker`'s btc_held, shares_basic and as_of as known at each publication time (`latest_rows` of
    the rows published by then), indexed by that time: the input of `analytics.treasury.mnav_history`.

    Each field at publication time p is its last non-missing value, in `latest_rows`' order (as_of, then
    table order), among the rows published by p: one boolean matrix (times x rows), no frame per time."""
    mine = treasury[treasury["ticker"] == ticker].sort_values("as_of", kind="stable")
    published = mine["published"].to_numpy()
    steps = np.unique(published[~pd.isna(published)])
    known = published[None, :] <= steps[:, None]
    out = {}
    for col in ("btc_held", "shares_basic", "as_of"):
        has = known & mine[col].notna().to_numpy()[None, :]
        last = has.shape[1] - 1 - has[:, ::-1].argmax(axis=1)  # the last row with a value, per time
        out[col] = mine[col].iloc[last].where(has.any(axis=1)).to_numpy()
    return pd.DataFrame(out, index=pd.DatetimeIndex(steps))


def _opt(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _money(v: object) -> str:
    """USD with a suffix, or 'not reported (0)' for a field the stack lacks (counted as 0)."""
    return "not reported (0)" if v is None or pd.isna(v) else usd(float(v))


def _recent_close(snap: Snapshot, symbol: str, max_age_days: float) -> tuple[float, pd.Timestamp] | None:
    px = closes(snap, symbol)
    if px.empty or DAILY_PRICES.age_days(snap.as_of, px.index[-1]) > max_age_days:
        return None
    return float(px.iloc[-1]), px.index[-1]


def _mismatch(th: Thresholds, ticker: str, price_date: pd.Timestamp) -> str | None:
    for t, until, why in th.price_basis:
        if t == ticker and (until is None or price_date < pd.Timestamp(until, tz="UTC")):
            return why
    return None


TEXT_COLUMNS = ("ticker", "name", "source", "status", "missing", "note", "converted")
TIME_COLUMNS = ("as_of", "share_price_date", "btc_price_date")
INPUT_COLUMNS = ("btc_held", "avg_cost_usd", "shares_basic", "debt_usd", "preferred_usd", "cash_usd", "share_price_usd")
NUMBER_COLUMNS = tuple(dict.fromkeys((*INPUT_COLUMNS, *(f.name for f in fields(Mnav)), "shares_mnav", "btc_price_usd")))
"""`company_table`'s columns by kind: the numbers are float64 (NaN unknown), whatever rows the table holds."""


def company_table(snap: Snapshot, th: Thresholds = Thresholds()) -> pd.DataFrame:
    """Every company's valuation at the last BTC close (USD), most stressed first (`stress_order`).

    Per company, the latest figures (`latest_rows`) of `treasury_companies` public by as_of; share price =
    the company's last close within `max_price_age_days`. The capital stack is known when any of debt /
    preferred / cash is (the others count as 0), unknown (no EV) when none is. The live
    `treasury_instruments` convert when in the money (`analytics.treasury.dilute`) and give the coupon
    interest; without them convertibles sit in debt at face (right while out of the money). The latest
    `treasury_charges` figures override that interest and give the preferred dividends. Columns:
    `TEXT_COLUMNS` (status 'complete', 'partial' or 'not enough data'; missing: short names; note: why;
    converted: what converted), `TIME_COLUMNS` and `NUMBER_COLUMNS` (the inputs, every `Mnav` field,
    shares_mnav = basic + converted shares). `DataError` without a recent BTC close or company row.
    """
    btc = _recent_close(snap, BTC, th.max_price_age_days)
    if btc is None:
        raise DataError(f"treasury: no BTC close within {th.max_price_age_days:g} days of {snap.as_of:%Y-%m-%d}")
    latest = _latest_known(snap)
    if latest is None:
        raise DataError(f"treasury: no treasury_companies rows published by {snap.as_of:%Y-%m-%d}")
    inst, charges = snap.get("treasury_instruments"), snap.get("treasury_charges")
    out = [_value(t, r, snap, btc[0], th, inst, charges) for t, r in latest.iterrows()]
    return stress_order(_table(out).assign(btc_price_usd=btc[0], btc_price_date=btc[1]))


def _table(records: list[dict[str, object]]) -> pd.DataFrame:
    """`company_table`'s rows as a frame, column by column: text (missing / note / converted: '' when absent),
    times (UTC, NaT when absent), numbers (float64, NaN when absent)."""
    cols: dict[str, object] = {c: [r.get(c) for r in records] for c in TEXT_COLUMNS}
    cols |= {c: pd.DatetimeIndex([r.get(c) for r in records], dtype="datetime64[ns, UTC]") for c in TIME_COLUMNS}
    cols |= {
        c: np.array([math.nan if r.get(c) is None else r[c] for r in records], dtype=float) for c in NUMBER_COLUMNS
    }
    table = pd.DataFrame(cols)
    table[["missing", "note", "converted"]] = table[["missing", "note", "converted"]].fillna("")
    return table


COUPON_COVERS_DEBT = 0.95
"""Convertible coupons are taken as the company's annual interest only when the out-of-the-money
convertibles' face makes up at least 95 % of its debt (MSTR: $8.21B face against $8.17B carried debt);
otherwise other debt of unknown cost is in the stack and the interest is unknown."""


def _latest_charges(charges: pd.DataFrame | None, ticker: str, as_of: pd.Timestamp) -> dict[str, float]:
    """The latest `treasury_charges` of `ticker` known by `as_of` (only the fields given)."""
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
        return row | {"status": "not enough data", "missing": "input", "note": str(exc)}
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
    "mnav1_mcap": "below it the company's market cap is less than its bitcoin: selling shares to buy BTC stops "
    "adding BTC per share (debt and preferred left out: no capital stack known on this date)",
    "stress": "below it the bitcoin no longer covers debt + preferred: the senior claims are under water",
    "cost": "below it the company's bitcoin is held at a loss: a widely watched line for capitulation headlines",
}

EV_UNAVAILABLE = (
    "EV unavailable, {why}: the recorded data carries {ticker}'s debt, preferred and cash only from the 8-K "
    "rows of 2025-10 on (the quarterly holdings before hold BTC and shares only), so mNAV is by market cap, "
    "which leaves out debt + preferred - cash and reads lower than mNAV by EV when those claims exceed cash"
)


@dataclass(frozen=True)
class History:
    """The company's daily mNAV by market cap over the snapshot's past (the holdings known each day, basic
    shares + the instruments in the money that day) and its values at the confirmed BTC drawdowns before
    as_of, on which the verdict's rule is scored."""

    series: pd.Series
    troughs: list[tuple[pd.Timestamp, float]]
    peaks: list[tuple[pd.Timestamp, float]]


def _premium(snap: Snapshot, th: Thresholds) -> pd.Series:
    """`th.ticker`'s daily mNAV by market cap before as_of (`premium_history`'s series)."""
    tr, btc, inst = snap.tables["treasury_companies"], closes(snap, BTC), snap.get("treasury_instruments")
    known = holdings_known(tr[tr["published"] <= snap.as_of], th.ticker)
    mine = None if inst is None else inst[(inst["ticker"] == th.ticker) & (inst["known"] <= snap.as_of)]
    series = mnav_history(known, closes(snap, th.ticker), btc, mine)
    return series[[_mismatch(th, th.ticker, d) is None for d in series.index]]


PREMIUM = Derived("treasury_premium", _premium, cut_days)
"""The daily mNAV by market cap of a ticker (each day's close with the holdings and instruments known then)."""


def premium_history(snap: Snapshot, th: Thresholds = Thresholds()) -> History:
    """`th.ticker`'s daily mNAV by market cap before as_of and its values at the peak and trough of each
    confirmed `th.drawdown` BTC drawdown (the last value within `max_price_age_days` before the date; dates
    before the history are left out). Days whose share price is on another split basis (`th.price_basis`)
    are dropped."""
    series, btc = snap.derived(PREMIUM, th), closes(snap, BTC)
    swings = [s for s in btc_drawdowns(snap, th.drawdown) if s.confirmed] if len(btc) >= 2 else []

    def at(day: pd.Timestamp) -> float | None:
        n = int(series.index.searchsorted(day, side="right"))  # the days up to `day` (ascending)
        fresh = n and (day - series.index[n - 1]).days <= th.max_price_age_days
        return float(series.iloc[n - 1]) if fresh else None

    troughs = [(s.trough_date, v) for s in swings if (v := at(s.trough_date)) is not None]
    peaks = [(s.peak_date, v) for s in swings if (v := at(s.peak_date)) is not None]
    return History(series, troughs, peaks)


def _scored(points: list[tuple[pd.Timestamp, float]], th: Thresholds) -> str:
    below = [f"{d:%Y-%m-%d} {v:.2f}" for d, v in points if v <= th.mnav]
    return f"{len(below)} of {len(points)}" + (f" ({', '.join(below)})" if below else "")


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    tr = snap.get("treasury_companies")
    if tr is None or th.ticker not in set(tr.loc[tr["published"] <= snap.as_of, "ticker"]):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"no {th.ticker} holdings published by this date")
    try:
        table = company_table(snap, th)
    except DataError as exc:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, str(exc))
    if table.empty or th.ticker not in set(table["ticker"]):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"{th.ticker}: no valuation at as_of")
    row = table.set_index("ticker").loc[th.ticker]
    ev_known = pd.notna(row.mnav_ev)
    value, basis = (row.mnav_ev, "EV") if ev_known else (row.mnav_mcap, "market cap")
    if pd.isna(value):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"{th.ticker}: {row['note'] or 'no mNAV'}")
    age = age_days(snap.as_of, row.as_of + DAY_CLOSE)  # holdings as of a date: at the end of that day
    if age > th.max_holdings_age_days:
        why = f"{th.ticker}: latest holdings as of {row.as_of:%Y-%m-%d}, {age:.0f} days old"
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"{why} (limit {th.max_holdings_age_days:g})")
    hist = premium_history(snap, th)
    priced = table[table["mnav_mcap"].notna()]
    stacked = table[table["mnav_ev"].notna()]
    below_mcap = priced[priced["mnav_mcap"] < th.mnav]
    below_ev = stacked[stacked["mnav_ev"] < th.mnav]
    t = ("treasury_companies", "daily_prices", *(n for n in ("treasury_instruments",) if snap.get(n) is not None))
    year = hist.series[hist.series.index > snap.as_of - pd.Timedelta(days=th.history_days)]
    lower = float((year < row.mnav_mcap).mean()) if len(year) else None
    metrics = [
        Metric("mnav", _opt(value), "ratio", t),
        Metric("mnav_ev", _opt(row.mnav_ev), "ratio", t),
        Metric("mnav_mcap", _opt(row.mnav_mcap), "ratio", t),
        Metric("btc_nav_usd", _opt(row.btc_nav_usd), "USD", t),
        Metric("market_cap_usd", _opt(row.market_cap_usd), "USD", t),
        Metric("enterprise_value_usd", _opt(row.enterprise_value_usd), "USD", t),
        Metric("holdings_age_days", float(age), "days", ("treasury_companies",)),
        Metric("mnav1_btc_price", _opt(row.mnav1_btc_price), "USD", t),
        Metric("stress_btc_price", _opt(row.stress_btc_price), "USD", t),
        Metric("leverage", _opt(row.leverage), "fraction", t),
        Metric("mnav_mcap_year_rank", lower, "fraction", t),
        Metric("past_troughs_scored", float(len(hist.troughs)), "drawdowns", t),
        Metric("past_troughs_at_or_below", float(sum(v <= th.mnav for _, v in hist.troughs)), "drawdowns", t),
        Metric("past_peaks_scored", float(len(hist.peaks)), "drawdowns", t),
        Metric("past_peaks_at_or_below", float(sum(v <= th.mnav for _, v in hist.peaks)), "drawdowns", t),
        Metric("dats_priced", float(len(priced)), "companies", t),
        Metric("dats_below_mnav1_mcap", float(len(below_mcap)), "companies", t),
        Metric("dats_with_capital_stack", float(len(stacked)), "companies", t),
        Metric("dats_below_mnav1_ev", float(len(below_ev)), "companies", t),
    ]
    charge_tables = tuple(n for n in ("treasury_instruments", "treasury_charges") if snap.get(n) is not None)
    for name in ("interest_to_nav", "dividends_to_nav"):
        if pd.notna(row[name]):
            metrics.append(Metric(name, row[name], "fraction per year", ("treasury_companies", *charge_tables)))
    if pd.notna(row.avg_cost_usd):
        metrics.append(Metric("avg_cost_usd", _opt(row.avg_cost_usd), "USD per BTC", ("treasury_companies",)))
        metrics.append(Metric("unrealised_pnl_usd", _opt(row.unrealised_pnl_usd), "USD", t))
    cost = f"; average cost ${row.avg_cost_usd:,.0f}/BTC" if pd.notna(row.avg_cost_usd) else ""
    dilution = f"; converted: {row.converted}" if row.converted else ""
    evidence = [
        f"{row['name']} ({th.ticker}): {row.btc_held:,.0f} BTC as of {row.as_of:%Y-%m-%d} ({age:.0f} days old)"
        f"{cost} ({row.source})",
        f"share price ${row.share_price_usd:,.2f} ({row.share_price_date:%Y-%m-%d}) x {row.shares_mnav / 1e6:,.2f}M "
        f"shares (basic + in-the-money convertibles) = market cap {usd(row.market_cap_usd)}{dilution}",
    ]
    if ev_known:
        evidence += [
            f"debt {_money(row.debt_usd)}, preferred {_money(row.preferred_usd)}, cash {_money(row.cash_usd)} "
            f"(out-of-the-money convertibles in debt at face); EV {usd(row.enterprise_value_usd)}",
            f"mNAV = 1 at BTC ${row.mnav1_btc_price:,.0f}; BTC NAV = debt + preferred at ${row.stress_btc_price:,.0f}",
        ]
    else:
        evidence.append(EV_UNAVAILABLE.format(why=row["note"] or "no capital stack", ticker=th.ticker))
    evidence.append(
        f"BTC NAV {usd(row.btc_nav_usd)} at ${row.btc_price_usd:,.0f}; mNAV (EV) "
        + (f"{row.mnav_ev:.3f}" if ev_known else "unavailable")
        + f", mNAV (market cap) {row.mnav_mcap:.3f}; the verdict uses mNAV ({basis}) against {th.mnav:g}"
    )
    if len(year):
        evidence.append(
            f"{th.ticker} mNAV (market cap, with the holdings and instruments known each day) over the past "
            f"{th.history_days} days: {year.min():.2f} to {year.max():.2f}; today's {row.mnav_mcap:.2f} is above "
            f"{lower:.0%} of those days"
        )
    evidence.append(
        f"the rule on {th.ticker}'s history before this date (mNAV by market cap <= {th.mnav:g} at confirmed "
        f"{th.drawdown:.0%}+ BTC drawdowns): troughs {_scored(hist.troughs, th)}; peaks {_scored(hist.peaks, th)}"
    )
    evidence.append(
        f"{len(below_mcap)} of {len(priced)} DATs with a usable share price trade below mNAV 1 on market cap "
        f"({', '.join(below_mcap['ticker']) or 'none'}); {len(below_ev)} of {len(stacked)} with a capital stack "
        f"below 1 on EV"
    )
    evidence += [
        f"{r.ticker}: mNAV (market cap) {r.mnav_mcap:.2f}"
        + (f", (EV) {r.mnav_ev:.2f}" if pd.notna(r.mnav_ev) else "")
        + f", {r.btc_held:,.0f} BTC as of {r.as_of:%Y-%m-%d}"
        for r in priced.itertuples()
        if r.ticker != th.ticker
    ]
    if ev_known:
        levels = [
            Level(row.mnav1_btc_price, f"{th.ticker} mNAV = 1 at today's share price", SIGNAL, t, LEVEL_WHY["mnav1"]),
            Level(row.stress_btc_price, f"{th.ticker} BTC NAV = debt + preferred", SIGNAL, t, LEVEL_WHY["stress"]),
        ]
    else:
        at_one = row.market_cap_usd / row.btc_held
        levels = [Level(at_one, f"{th.ticker} market cap = BTC NAV", SIGNAL, t, LEVEL_WHY["mnav1_mcap"])]
    if pd.notna(row.avg_cost_usd):
        levels.append(Level(row.avg_cost_usd, f"{th.ticker} average cost", SIGNAL, t, LEVEL_WHY["cost"]))
    holds = value <= th.mnav
    headline = (
        f"{th.ticker} mNAV ({basis}{'' if ev_known else '; EV unavailable'}) {value:.2f}: "
        f"{'at or below' if holds else 'above'} its bitcoin NAV; {len(below_mcap)} of {len(priced)} priced DATs "
        "below mNAV 1 (market cap)"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=tuple(levels))
