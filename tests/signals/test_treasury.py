"""Signal 6: MSTR's mNAV from the recorded capital stack, the decision at mNAV = 1, and the company table
(partial rows, bad rows, convertibles, user rows)."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.analytics.treasury import mnav
from capitulation.signals import treasury
from capitulation.snapshot import Snapshot
from capitulation.verdict import Status
from synthetic import daily, snapshot


def _stack(btc: float, shares: float, debt: float, pref: float, cash: float, ticker: str = "MSTR") -> pd.DataFrame:
    """One synthetic `treasury_companies` row as of 2026-02-02."""
    return pd.DataFrame(
        {
            "as_of": ["2026-02-02"],
            "published": ["2026-02-02"],
            "name": ["Synthetic Co"],
            "ticker": [ticker],
            "btc_held": [btc],
            "avg_cost_usd": [None],
            "shares_basic": [shares],
            "shares_diluted": [None],
            "share_price_usd": [None],
            "debt_usd": [debt],
            "preferred_usd": [pref],
            "cash_usd": [cash],
            "source": ["synthetic"],
        }
    )


def test_below_one_holds_and_the_levels_are_the_breakevens():
    # synthetic: 1,000 BTC at $60k = $60M NAV; 1M shares at $40 = $40M; EV = 40 + 10 + 5 - 2 = $53M -> 0.883
    px = pd.concat([daily("BTC-USD", [60_000.0] * 3), daily("MSTR", [40.0] * 3)], ignore_index=True)
    snap = snapshot("2026-02-05T23:59:59Z", daily_prices=px, treasury_companies=_stack(1_000, 1e6, 10e6, 5e6, 2e6))
    v = treasury.evaluate(snap)
    assert v.status is Status.HOLDS
    assert v.metric("mnav_ev").value == pytest.approx(53 / 60)
    assert {round(lv.price) for lv in v.levels} == {53_000, 15_000}
    assert all(lv.why for lv in v.levels)


def test_recorded_mstr_mnav_on_2026_02_05_matches_the_formula(default_snapshot):
    v = treasury.evaluate(default_snapshot)
    tr = default_snapshot.tables["treasury_companies"]
    row = tr[tr["ticker"] == "MSTR"].sort_values("as_of").iloc[-1]
    shares = row["shares_basic"]  # basic: the convertibles are already in debt
    ref = mnav(
        btc_held=row["btc_held"],
        btc_price=62_702.09765625,
        share_price=106.98999786376953,
        shares=shares,
        debt=row["debt_usd"],
        preferred=row["preferred_usd"],
        cash=row["cash_usd"],
    )
    assert v.metric("mnav_ev").value == pytest.approx(ref.mnav_ev, rel=1e-12)
    assert row["btc_held"] == 713_502  # the 8-K of 2026-02-02
    # by hand: NAV 713,502 x 62,702.10 = 44.738B; cap 106.99 x 296.30M = 31.702B; EV = 31.702 + 8.174 + 6.607
    # - 2.250 = 44.233B -> mNAV (EV) 0.9887, (market cap) 0.7086; mNAV = 1 at 44.233B / 713,502 = 61,994
    assert v.metric("mnav_ev").value == pytest.approx(0.9887, abs=1e-4)
    assert v.metric("mnav_mcap").value == pytest.approx(0.7086, abs=1e-4)
    assert v.metric("mnav1_btc_price").value == pytest.approx(61_994, abs=1)
    assert v.metric("stress_btc_price").value == pytest.approx((8_173_903_000 + 6_607_000_000) / 713_502, rel=1e-12)
    assert v.status is Status.HOLDS
    # MARA: 6.73 x 378,184,353 / (52,850 x 62,702.10) = 0.768 on market cap; DJT 4.2; NAKA and ASST excluded
    assert v.metric("dats_priced").value == 3 and v.metric("dats_below_mnav1_mcap").value == 2
    assert any("MARA: mNAV (market cap) 0.77" in e for e in v.evidence)
    assert v.metric("avg_cost_usd").value == pytest.approx(76_047.87, abs=0.01)
    assert {lv.label for lv in v.levels} >= {"MSTR average cost", "MSTR mNAV = 1 at today's share price"}


def test_missing_share_price_is_not_enough_data():
    snap = snapshot(
        "2026-02-05T23:59:59Z",
        daily_prices=daily("BTC-USD", [60_000.0]),
        treasury_companies=_stack(1_000, 1e6, 0, 0, 0),
    )
    assert treasury.evaluate(snap).status is Status.NOT_ENOUGH_DATA


def _prices(**closes: float) -> pd.DataFrame:
    return pd.concat([daily(sym, [px] * 3) for sym, px in closes.items()], ignore_index=True)


def test_company_table_keeps_every_company_and_says_what_is_missing():
    # synthetic: A complete; B no share price; C zero shares; D no BTC; E no capital stack figure at all
    rows = pd.concat(
        [
            _stack(1_000, 1e6, 10e6, 5e6, 2e6, "A"),
            _stack(500, 1e6, 0, 0, 0, "B"),
            _stack(200, 0, 0, 0, 0, "C"),
            _stack(0, 1e6, 0, 0, 0, "D"),
            _stack(100, 1e6, None, None, None, "E"),
        ],
        ignore_index=True,
    )
    px = _prices(**{"BTC-USD": 60_000.0, "A": 40.0, "C": 1.0, "D": 1.0, "E": 3.0})
    t = treasury.company_table(snapshot("2026-02-05T23:59:59Z", daily_prices=px, treasury_companies=rows))
    t = t.set_index("ticker")
    assert t.loc["A", "status"] == "complete" and t.loc["A", "mnav_ev"] == pytest.approx(53 / 60)
    assert t.loc["B", "status"] == "partial" and t.loc["B", "missing"] == "share price"
    assert t.loc["B", "stress_btc_price"] == 0.0 and t.loc["B", "btc_nav_usd"] == pytest.approx(30e6)
    assert t.loc["C", "status"] == "not enough data" and "shares must be a positive number" in t.loc["C", "note"]
    assert t.loc["D", "status"] == "not enough data" and "btc_held" in t.loc["D", "note"]
    assert t.loc["E", "missing"] == "capital stack" and t.loc["E", "mnav_mcap"] == pytest.approx(3e6 / 6e6)
    assert pd.isna(t.loc["E", "mnav_ev"])
    assert t.index[0] == "A"  # leverage (10 + 5) / 60 = 0.25 beats B's 0


def test_in_the_money_convertible_becomes_shares_and_the_charges_table_counts():
    # synthetic: 1,000 BTC at 60,000; 1M shares at 40; debt 10M is one note convertible at 25 into 400k shares
    inst = pd.DataFrame(
        {
            "known": pd.to_datetime(["2025-01-01"], utc=True),
            "ticker": ["MSTR"],
            "kind": ["convertible"],
            "face_value_usd": [10e6],
            "strike_usd": [25.0],
            "potential_shares": [400_000.0],
            "issued": pd.to_datetime(["2025-01-01"], utc=True),
            "expiration": pd.to_datetime(["2030-01-01"], utc=True),
            "coupon": [0.01],
            "source": ["synthetic"],
        }
    )
    charges = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2026-01-01"], utc=True),
            "ticker": ["MSTR"],
            "annual_interest_usd": [float("nan")],
            "annual_preferred_dividends_usd": [600_000.0],
            "source": ["synthetic"],
        }
    )
    px = _prices(**{"BTC-USD": 60_000.0, "MSTR": 40.0})
    stack = _stack(1_000, 1e6, 10e6, 5e6, 2e6)
    frames = {"daily_prices": px, "treasury_companies": stack, "treasury_charges": charges}
    r = treasury.company_table(snapshot("2026-02-05T23:59:59Z", **frames, treasury_instruments=inst)).iloc[0]
    # in the money: 1.4M shares x 40 = 56M; EV = 56 + 0 + 5 - 2 = 59M -> mNAV 59 / 60
    assert r["shares_mnav"] == 1.4e6 and r["mnav_ev"] == pytest.approx(59 / 60)
    assert "convertible at $25.00 -> 400,000 shares" in r["converted"]
    assert r["annual_interest_usd"] == 0.0  # no note left in debt, and debt is now 0
    assert r["dividends_to_nav"] == pytest.approx(600_000 / 60e6)
    otm = snapshot("2026-02-05T23:59:59Z", **frames, treasury_instruments=inst.assign(strike_usd=50.0))
    out = treasury.company_table(otm).iloc[0]
    assert out["shares_mnav"] == 1e6 and out["annual_interest_usd"] == pytest.approx(100_000)  # 10M x 1 %
    v = treasury.evaluate(otm)
    assert v.metric("dividends_to_nav").tables == ("treasury_companies", "treasury_instruments", "treasury_charges")
    assert v.metric("mnav_ev").tables == ("treasury_companies", "daily_prices", "treasury_instruments")


def test_stack_file_rows_win_over_recorded_rows_of_the_same_or_earlier_date_once_public(default_snapshot):
    tr = default_snapshot.tables["treasury_companies"]
    extra = _stack(720_000, 300e6, 8e9, 7e9, 2e9).assign(source="synthetic user row")

    def table(rows: pd.DataFrame) -> pd.DataFrame:
        frames = dict(default_snapshot.tables) | {"treasury_companies": pd.concat([tr, rows], ignore_index=True)}
        snap = Snapshot(default_snapshot.as_of, frames, default_snapshot.provenance)
        return treasury.company_table(snap).set_index("ticker")

    t = table(extra)  # as_of 2026-02-02: the same date as the latest 8-K row, and later in the table
    assert t.loc["MSTR", "btc_held"] == 720_000 and t.loc["MSTR", "source"] == "synthetic user row"
    later = extra.assign(published=pd.Timestamp("2026-03-01", tz="UTC"))
    assert table(later).loc["MSTR", "btc_held"] == 713_502  # not yet public on 2026-02-05


def test_price_basis_mismatch_drops_the_market_cap_not_the_row(default_snapshot):
    t = treasury.company_table(default_snapshot).set_index("ticker")
    assert "price basis" in t.loc["NAKA", "missing"] and pd.isna(t.loc["NAKA", "mnav_mcap"])
    assert t.loc["NAKA", "btc_held"] == 5_398
    th = treasury.Thresholds(price_basis=())
    naka = treasury.company_table(default_snapshot, th).set_index("ticker").loc["NAKA"]
    assert naka["mnav_mcap"] > 10  # 10.24 x 511.6M shares against 5,398 BTC: the split-adjusted price is 40x


def test_before_capital_stacks_the_verdict_decides_on_market_cap_and_says_ev_is_unavailable(recorded_full):
    # 2022-06-18, the 2022 low: no debt, preferred or cash figure in the recorded data before 2025-10
    snap = recorded_full.upto("2022-06-18T23:59:59Z")
    v = treasury.evaluate(snap)
    tr = snap.tables["treasury_companies"]
    tracker, fixed = tr[(tr["ticker"] == "MSTR") & (tr["as_of"] == pd.Timestamp("2022-03-31", tz="UTC"))].itertuples()
    assert (tracker.btc_held, fixed.btc_held) == (125_051, 129_218)  # the bundled correction, shares as the tracker
    btc = snap.tables["daily_prices"].query("symbol == 'BTC-USD'").iloc[-1]["close"]
    mstr = snap.tables["daily_prices"].query("symbol == 'MSTR'").iloc[-1]["close"]
    # by hand: 16.76 x 112.86M shares = 1.892B against 129,218 BTC x 19,018 = 2.457B -> 0.770; the 2025 notes
    # (conversion $39.80) are out of the money at $16.76, so basic shares
    hand = mstr * tracker.shares_basic / (fixed.btc_held * btc)
    assert v.metric("mnav").value == pytest.approx(hand, rel=1e-12)
    assert v.metric("mnav").value == pytest.approx(0.770, abs=5e-4) and v.metric("mnav_ev").value is None
    assert v.status is Status.HOLDS and "market cap; EV unavailable" in v.headline
    assert any(e.startswith("EV unavailable, capital stack unknown") for e in v.evidence)
    assert {lv.label for lv in v.levels} == {"MSTR market cap = BTC NAV"}
    table = treasury.company_table(snap)
    assert table["leverage"].dtype == "float64" and table["leverage"].isna().all()  # sorted without a crash


def test_holds_at_the_lows_and_not_at_the_tops_and_decides_nine_month_ends_in_ten(recorded_full):
    at = {d: treasury.evaluate(recorded_full.upto(f"{d}T23:59:59Z")).status for d in (
        "2021-01-08", "2022-01-22", "2022-06-18", "2022-11-21", "2026-02-05",  # no holdings yet; troughs
        "2021-11-08", "2022-03-29", "2024-03-13", "2025-01-21", "2025-10-06",  # peaks
    )}  # fmt: skip
    assert at.pop("2021-01-08") is Status.NOT_ENOUGH_DATA  # MSTR's first quarterly figures: 2021-01-30
    assert [at[d] for d in ("2022-01-22", "2022-06-18", "2022-11-21", "2026-02-05")] == [Status.HOLDS] * 4
    assert {at[d] for d in ("2021-11-08", "2022-03-29", "2024-03-13", "2025-01-21", "2025-10-06")} == {
        Status.DOES_NOT_HOLD
    }
    ends = pd.date_range("2021-04-30", "2026-02-28", freq="ME", tz="UTC") + pd.Timedelta(
        hours=23, minutes=59, seconds=59
    )
    statuses = [treasury.evaluate(recorded_full.upto(d)).status for d in ends]
    decided = sum(s is not Status.NOT_ENOUGH_DATA for s in statuses)
    assert decided / len(ends) >= 0.9 and Status.HOLDS in statuses and Status.DOES_NOT_HOLD in statuses


def test_the_premium_history_is_walk_forward_and_scores_the_rule_on_past_drawdowns(recorded_full):
    early = treasury.premium_history(recorded_full.upto("2022-06-18T23:59:59Z"))
    late = treasury.premium_history(recorded_full.upto("2026-02-05T23:59:59Z"))
    pd.testing.assert_series_equal(early.series, late.series[late.series.index <= early.series.index[-1]])
    assert early.series.index[0] == pd.Timestamp("2021-02-01", tz="UTC")  # first trading day after 2021-01-30
    # confirmed 20 %+ drawdowns before 2022-06-18 with MSTR history: troughs 2021-02-28 .. 2022-01-22
    assert [f"{d:%Y-%m-%d}" for d, _ in early.troughs][-1] == "2022-01-22" and len(early.troughs) == 5
    v = treasury.evaluate(recorded_full.upto("2026-02-05T23:59:59Z"))
    assert v.metric("past_troughs_at_or_below").value == sum(m <= 1 for _, m in late.troughs) == 3
    assert v.metric("past_peaks_at_or_below").value == 0 and v.metric("past_peaks_scored").value == 12
    assert any(
        "troughs 3 of 12 (2022-01-22 0.88, 2022-06-18 0.72, 2022-11-21 0.87); peaks 0 of 12" in e for e in v.evidence
    )


def test_holdings_older_than_two_quarters_are_not_todays():
    px = _prices(**{"BTC-USD": 60_000.0, "MSTR": 40.0})
    old = _stack(1_000, 1e6, 0, 0, 0).assign(as_of="2025-06-30", published="2025-07-30")
    v = treasury.evaluate(snapshot("2026-02-05T23:59:59Z", daily_prices=px, treasury_companies=old))
    assert v.status is Status.NOT_ENOUGH_DATA and "2025-06-30, 220 days old (limit 200)" in v.headline


def test_a_zero_or_negative_btc_close_never_reaches_the_signal():
    from capitulation.errors import DataError

    stack = _stack(1_000, 1e6, 10e6, 5e6, 2e6)
    for bad in (0.0, -60_000.0):
        px = pd.concat([daily("BTC-USD", [60_000.0, 60_000.0, bad]), daily("MSTR", [40.0] * 3)], ignore_index=True)
        with pytest.raises(DataError, match=r"'daily_prices', column 'close', row 2: out of range .*symbol BTC-USD"):
            snapshot("2026-02-05T23:59:59Z", daily_prices=px, treasury_companies=stack)


def test_a_company_table_without_the_ticker_is_not_enough_data(monkeypatch):
    px = pd.concat([daily("BTC-USD", [60_000.0] * 3), daily("MSTR", [40.0] * 3)], ignore_index=True)
    snap = snapshot("2026-02-05T23:59:59Z", daily_prices=px, treasury_companies=_stack(1_000, 1e6, 10e6, 5e6, 2e6))
    monkeypatch.setattr(treasury, "company_table", lambda s, th: pd.DataFrame())
    v = treasury.evaluate(snap)
    assert v.status is Status.NOT_ENOUGH_DATA and "MSTR: no valuation at as_of" in v.headline


def _known_by_definition(rows: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """`holdings_known` as its docstring defines it: `latest_rows` of the rows published by each time."""
    mine = rows[rows["ticker"] == ticker]
    steps = sorted(mine["published"].unique())
    latest = [treasury.latest_rows(mine[mine["published"] <= p]).iloc[0] for p in steps]
    cols = ["btc_held", "shares_basic", "as_of"]
    return pd.DataFrame([r[cols] for r in latest], index=pd.DatetimeIndex(steps), columns=cols)


def _same_known(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.index) == list(want.index)
    for col in ("btc_held", "shares_basic"):
        assert got[col].astype(float).equals(want[col].astype(float)), col
    assert list(got["as_of"]) == list(want["as_of"])


def test_holdings_known_is_latest_rows_at_each_publication_on_the_recorded_filings(recorded_full):
    rows = recorded_full.tables["treasury_companies"]
    for ticker in rows["ticker"].unique():
        _same_known(treasury.holdings_known(rows, ticker), _known_by_definition(rows, ticker))


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),  # as_of day (ties: table order decides)
            st.integers(0, 6),  # published day
            st.one_of(st.none(), st.floats(1, 1e6)),  # btc_held (None: not in this filing)
            st.one_of(st.none(), st.floats(1, 1e9)),  # shares_basic
        ),
        min_size=1,
        max_size=12,
    )
)
def test_holdings_known_matches_its_definition_on_any_filings(filings):
    day = pd.Timestamp("2025-01-01", tz="UTC")
    rows = pd.DataFrame(
        {
            "ticker": "X",
            "as_of": [day + pd.Timedelta(days=a) for a, *_ in filings],
            "published": [day + pd.Timedelta(days=p) for _, p, *_ in filings],
            "btc_held": [b for *_, b, _ in filings],
            "shares_basic": [s for *_, s in filings],
        }
    ).astype({"btc_held": float, "shares_basic": float})
    _same_known(treasury.holdings_known(rows, "X"), _known_by_definition(rows, "X"))
