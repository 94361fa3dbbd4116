"""The recorded Deribit chains -> option_quotes: conventions, the derived forward, and the errors."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitulation import tables
from capitulation.analytics import black76, gex
from capitulation.errors import DataError, SourceError
from capitulation.sources import deribit, prices

SECONDS_PER_YEAR = 365 * 86400


@pytest.fixture(scope="module")
def full_csv(shared_data: Path) -> Path:
    return shared_data / "deribit_options" / "full_data_sample.csv"


@pytest.fixture(scope="module")
def sample_csv(shared_data: Path) -> Path:
    return shared_data / "deribit_options" / "sample.csv"


@pytest.fixture(scope="module")
def full(full_csv: Path) -> pd.DataFrame:
    quotes, _ = deribit.read_chain_csv(full_csv)
    return quotes


def _years(q: pd.DataFrame) -> np.ndarray:
    return (q["expiry"] - q["timestamp"]).dt.total_seconds().to_numpy() / SECONDS_PER_YEAR


def test_full_file_is_a_valid_option_quotes_table(full: pd.DataFrame) -> None:
    assert len(full) == 24_562  # nothing in the file is expired at its own time
    pd.testing.assert_frame_equal(full, tables.validate("option_quotes", full))
    assert full["timestamp"].nunique() == 37  # hourly 01:00 23 Jan .. 13:00 24 Jan, no gaps (PROVENANCE.md says 38)
    assert full["timestamp"].max() == pd.Timestamp("2026-01-24T13:00Z")


def test_venue_conventions_are_converted(full: pd.DataFrame) -> None:
    # file row 1: 2026-01-23T01:00, BTC-13FEB26-100000-C, ..., delta 0.12116, bid_iv 35.75, ask_iv 36.17, mark_iv 36.24
    r = full.iloc[0]
    assert r["instrument"] == "BTC-13FEB26-100000-C"
    assert r["timestamp"] == pd.Timestamp("2026-01-23T01:00Z")
    assert r["expiry"] == pd.Timestamp("2026-02-13T08:00Z")
    assert (r["option_type"], r["venue"], r["underlying"], r["quote_currency"]) == ("C", "deribit", "BTC", "BTC")
    assert (r["mark_iv"], r["bid_iv"], r["ask_iv"]) == pytest.approx((0.3624, 0.3575, 0.3617), abs=1e-15)
    assert (r["venue_delta"], r["venue_gamma"], r["venue_vega"], r["venue_theta"]) == (
        0.12116,
        0.00003,
        43.7124,
        -37.26312,
    )
    assert r["contract_size"] == 1.0 and np.isnan(r["index_price"])
    assert set(full["option_type"]) == {"C", "P"}


def test_zero_bid_iv_means_no_bid(sample_csv: Path) -> None:
    # sample.csv row 1: BTC-9MAR26-74000-P, bid_iv 0.0, ask_iv 65.89, mark_iv 51.35
    q, _ = deribit.read_chain_csv(sample_csv, timestamp="2026-03-05T19:52Z")
    r = q[q["instrument"] == "BTC-9MAR26-74000-P"].iloc[0]
    assert np.isnan(r["bid_iv"]) and np.isnan(r["bid"]) and np.isnan(r["bid_usd"])
    assert r["ask_iv"] == pytest.approx(0.6589) and r["ask_usd"] > r["mark_usd"] > 0


def test_derived_forward_reproduces_the_venue_delta(full: pd.DataFrame) -> None:
    # Our Black-76 delta at our derived forward vs Deribit's published delta, expiries > 1 day away.
    # Residuals come from 5-decimal rounding and the ~0.45 h between the file's hourly `date` label and
    # the venue's own computation time (implied by its greeks; see implied_capture_time).
    t = _years(full)
    ours = black76.delta(full["underlying_price"], full["strike"], t, full["mark_iv"], full["option_type"] == "C")
    err = np.abs(ours - full["venue_delta"].to_numpy())[t > 1 / 365]
    assert np.isfinite(err).all()
    assert np.median(err) < 5e-5
    assert np.quantile(err, 0.99) < 0.002
    assert err.max() < 0.015


def test_forward_term_structure_at_the_last_timestamp(full: pd.DataFrame) -> None:
    last = full[full["timestamp"] == full["timestamp"].max()]
    fwd = last.groupby("expiry")["underlying_price"].agg(["min", "max"])
    assert (fwd["min"] == fwd["max"]).all()  # one forward per expiry
    assert fwd["min"].between(85_000, 95_000).all()
    assert fwd["min"].is_monotonic_increasing  # BTC futures in contango in January 2026


def test_prices_are_black76_at_the_derived_forward(full: pd.DataFrame) -> None:
    q = full[full["underlying_price"].notna()]
    t = _years(q)
    is_call = (q["option_type"] == "C").to_numpy()
    usd = black76.price(q["underlying_price"], q["strike"], t, q["mark_iv"], is_call)
    np.testing.assert_allclose(q["mark_usd"], usd, rtol=1e-14)
    np.testing.assert_allclose(q["mark"], q["mark_usd"] / q["underlying_price"], rtol=1e-14)
    assert (q["bid_usd"].isna() == q["bid_iv"].isna()).all()
    priced = q["bid_usd"].notna() & q["ask_usd"].notna()
    assert (q.loc[priced, "bid_usd"] <= q.loc[priced, "ask_usd"] + 1e-9).mean() > 0.99


def test_front_expiries_without_a_trusted_delta_have_no_forward(full: pd.DataFrame) -> None:
    # hours before settlement every delta is outside [0.15, 0.85]: no forward, no prices, not a guess
    missing = full[full["underlying_price"].isna()]
    assert len(missing) > 0
    assert ((missing["expiry"] - missing["timestamp"]) <= pd.Timedelta(hours=7)).all()
    assert missing["mark_usd"].isna().all()


def test_sample_file_needs_a_timestamp(sample_csv: Path) -> None:
    with pytest.raises(DataError, match="no 'date' column"):
        deribit.read_chain_csv(sample_csv)


def test_expired_rows_are_dropped_and_counted(sample_csv: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="capitulation.sources.deribit"):
        q, prov = deribit.read_chain_csv(sample_csv, timestamp="2026-03-09T19:00Z")
    assert len(q) == 1016 - 256  # the 6, 7, 8 and 9 MAR26 expiries have settled by then
    assert (q["expiry"] > q["timestamp"]).all()
    assert "dropped 256 expired" in caplog.text
    assert "256 expired" in prov.notes


def test_sample_greeks_date_the_snapshot_to_5_march(sample_csv: Path) -> None:
    # The venue's greeks put sample.csv at ~2026-03-05 19:52 UTC (the 6MAR26 options are still live).
    when = deribit.implied_capture_time(sample_csv)
    assert abs(when - pd.Timestamp("2026-03-05T19:52Z")) < pd.Timedelta(minutes=30)


def test_implied_capture_time_recovers_a_recorded_time(full_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(full_csv)
    one = raw[raw["date"] == raw["date"].max()].drop(columns="date")
    path = tmp_path / "one.csv"
    one.to_csv(path, index=False)
    when = deribit.implied_capture_time(path)
    assert abs(when - pd.Timestamp("2026-01-24T13:00Z")) < pd.Timedelta(hours=1)


def test_provenance_states_the_derived_columns(full_csv: Path) -> None:
    _, prov = deribit.read_chain_csv(full_csv)
    assert prov.source.endswith("full_data_sample.csv")
    assert prov.retrieved_at == "2026-01-24T13:00:00+00:00"
    assert "DERIVED" in prov.notes and "underlying_price" in prov.notes and "forward" in prov.notes
    assert not prov.synthetic


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        deribit.read_chain_csv(tmp_path / "nope.csv", timestamp="2026-01-01")


def _small(full_csv: Path, tmp_path: Path, edit: dict[str, object] | None = None, drop: str | None = None) -> Path:
    raw = pd.read_csv(full_csv, nrows=20, dtype=str)
    if edit:
        for col, val in edit.items():
            raw.loc[3, col] = val
    if drop:
        raw = raw.drop(columns=drop)
    path = tmp_path / "chain.csv"
    raw.to_csv(path, index=False)
    return path


def test_missing_input_column_is_named(full_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing input column.*mark_iv"):
        deribit.read_chain_csv(_small(full_csv, tmp_path, drop="mark_iv"))


def test_malformed_number_is_named(full_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="column 'strike', row 3: malformed number 'abc'"):
        deribit.read_chain_csv(_small(full_csv, tmp_path, edit={"strike": "abc"}))


def test_bad_option_type_and_date_are_named(full_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="column 'type', row 3"):
        deribit.read_chain_csv(_small(full_csv, tmp_path, edit={"type": "future"}))
    with pytest.raises(DataError, match="column 'expiry_date', row 3"):
        deribit.read_chain_csv(_small(full_csv, tmp_path, edit={"expiry_date": "13FEB26"}))


def test_timestamp_is_refused_when_the_file_has_dates(full_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="own 'date' column"):
        deribit.read_chain_csv(_small(full_csv, tmp_path), timestamp="2026-01-23")


def test_a_small_chain_round_trips_without_forward_failures(full_csv: Path, tmp_path: Path) -> None:
    q, _ = deribit.read_chain_csv(_small(full_csv, tmp_path))
    assert len(q) == 20 and q["underlying_price"].notna().all()


def test_derived_forward_agrees_with_the_btc_daily_close(full: pd.DataFrame, shared_data: Path) -> None:
    # Yahoo BTC-USD closes (prices_daily/btc_price_volume.csv, close at 24:00 UTC): 23 Jan 89,503.88,
    # 24 Jan 89,110.73. The nearest expiry's forward (a basis of < 2 days, a few USD) tracks spot:
    # * at 24 Jan 00:00, the instant of the 23 Jan close: 89,420.36, -0.09 % (tolerance 0.25 %);
    # * every hourly forward of a day within 1.5 % of that day's close (BTC's intraday range; measured
    #   max 1.42 % on 23 Jan at 18:00, 0.72 % on 24 Jan, whose last chain is 13:00: +0.33 %).
    px, _ = prices.read_btc_price_volume(shared_data / "prices_daily" / "btc_price_volume.csv")
    close = px.set_index("date")["close"]
    live = full[full["underlying_price"].notna()]
    front = live[live["expiry"] == live.groupby("timestamp")["expiry"].transform("min")]
    near = front.groupby("timestamp")["underlying_price"].first()
    day23, day24 = pd.Timestamp("2026-01-23T00:00Z"), pd.Timestamp("2026-01-24T00:00Z")
    assert near[day24] / close[day23] - 1 == pytest.approx(-0.0009, abs=0.0001)
    assert abs(near[day24] / close[day23] - 1) < 0.0025
    for day in (day23, day24):
        hours = near[(near.index >= day) & (near.index < day + pd.Timedelta(days=1))]
        assert len(hours) >= 14
        assert (hours / close[day] - 1).abs().max() < 0.015


def test_expiries_settle_at_eight_utc_and_time_is_act_365(full: pd.DataFrame) -> None:
    assert (full["expiry"].dt.hour == 8).all() and (full["expiry"].dt.minute == 0).all()
    r = full.iloc[0]  # 2026-01-23 01:00 -> 2026-02-13 08:00: 21 days 7 hours
    assert _years(full)[0] == pytest.approx((21 + 7 / 24) / 365, abs=1e-15)
    assert r["mark_usd"] == pytest.approx(r["mark"] * r["underlying_price"], rel=1e-14)  # inverse: BTC x F


def test_recorded_trades_parse_into_the_trades_frame(shared_data: Path) -> None:
    # http_get_last_trades.json: a REAL capture (trimmed), per api_fixtures/deribit/PROVENANCE.md, of
    # ETH-PERPETUAL trades on 2025-12-21 - not a BTC option, but the same public trade schema: nine taker
    # sells of 1 contract, then one taker buy of 106 contracts.
    trades, prov = deribit.read_trades_json(shared_data / "api_fixtures" / "deribit" / "http_get_last_trades.json")
    assert list(trades.columns) == ["timestamp", "instrument", "direction", "amount", "price", "trade_id"]
    assert len(trades) == 10 and set(trades["instrument"]) == {"ETH-PERPETUAL"}
    assert trades["timestamp"].iloc[0] == pd.Timestamp(1766332040636, unit="ms", tz="UTC")
    assert trades["timestamp"].is_monotonic_increasing
    assert (trades["direction"] == "sell").sum() == 9 and trades["amount"].sum() == 115.0
    last = trades.iloc[-1]
    assert (last["direction"], last["amount"], last["price"], last["trade_id"]) == (
        "buy",
        106.0,
        2968.3,
        "ETH-284830854",
    )
    flow = gex.taker_flow(trades).loc["ETH-PERPETUAL"]
    assert (flow["buys"], flow["sells"], flow["net"], flow["gross"]) == (106.0, 9.0, 97.0, 115.0)
    assert prov.retrieved_at.startswith("2025-12-21T15:47:59") and "taker" in prov.notes and not prov.synthetic


def test_trades_payload_without_trades_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"jsonrpc": "2.0", "result": {"trades": []}}')
    with pytest.raises(DataError, match=r"no result\.trades"):
        deribit.read_trades_json(path)
    path.write_text('{"result": {"trades": [{"instrument_name": "X", "direction": "buy"}]}}')
    with pytest.raises(DataError, match="trade 0: missing field"):
        deribit.read_trades_json(path)
    with pytest.raises(SourceError):
        deribit.read_trades_json(tmp_path / "absent.json")


def test_bad_quote_rows_are_dropped_and_counted_by_rule(full_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(full_csv, nrows=20, dtype=str)
    raw.loc[3, "open_interest"] = "-167.7"
    raw.loc[5, "strike"] = "-5"
    raw.loc[7, "mark_iv"] = "999"
    path = tmp_path / "chain.csv"
    raw.to_csv(path, index=False)
    quotes, prov = deribit.read_chain_csv(path)
    assert len(quotes) == 17 and prov.dropped_rows == 3
    assert (quotes["open_interest"] >= 0).all() and (quotes["strike"] > 0).all() and quotes["mark_iv"].max() < 5
    assert "3 bad quote row(s) dropped" in prov.notes and "1 open_interest: out of range" in prov.notes


def test_repeated_quote_rows_count_once(full_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(full_csv, nrows=20, dtype=str)
    path = tmp_path / "chain.csv"
    pd.concat([raw, raw]).to_csv(path, index=False)
    quotes, prov = deribit.read_chain_csv(path)
    assert len(quotes) == 20 and "20 row(s) repeating an earlier row dropped" in prov.notes
    single, _ = deribit.read_chain_csv(_small(full_csv, tmp_path))
    pd.testing.assert_frame_equal(quotes, single)


def test_a_quote_repeated_with_other_values_names_the_file_and_both_rows(full_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(full_csv, nrows=20, dtype=str)
    again = raw.iloc[[4]].assign(open_interest="536.2")
    path = tmp_path / "chain.csv"
    pd.concat([raw.iloc[:5], again, raw.iloc[5:]]).to_csv(path, index=False)
    with pytest.raises(
        DataError,
        match=rf"chain\.csv: table 'option_quotes', rows 4 and 5 \[.* instrument {raw.loc[4, 'instrument_name']}\]: "
        rf"the same key twice with different values \(open_interest {float(raw.loc[4, 'open_interest'])} vs 536\.2\)$",
    ):
        deribit.read_chain_csv(path)


def test_a_chain_mixing_times_with_and_without_an_offset_is_one_line_error(full_csv: Path, tmp_path: Path) -> None:
    path = _small(full_csv, tmp_path, edit={"date": "2026-01-23T01:00:00+02:00"})
    with pytest.raises(
        DataError, match=r"chain\.csv, column 'date', row 3: .* mixes times with and without a UTC offset"
    ):
        deribit.read_chain_csv(path)


def test_a_chain_with_every_time_offset_is_converted_to_utc(full_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(full_csv, nrows=4, dtype=str)
    raw["date"] = "2026-01-23T03:00:00+02:00"
    path = tmp_path / "chain.csv"
    raw.to_csv(path, index=False)
    quotes, _ = deribit.read_chain_csv(path)
    assert (quotes["timestamp"] == pd.Timestamp("2026-01-23T01:00Z")).all()


def test_a_chain_cut_mid_line_is_an_error_and_a_directory_is_named(full_csv: Path, tmp_path: Path) -> None:
    whole = _small(full_csv, tmp_path).read_text()
    cut = tmp_path / "cut.csv"
    cut.write_text(whole[: whole.rstrip("\n").rfind("\n") + 30])  # the last row's first 29 characters
    with pytest.raises(DataError, match=r"cut\.csv: row 20 \(the last line, no line break\): \d+ of \d+ fields"):
        deribit.read_chain_csv(cut)
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match=r"dir\.csv: a directory, not a readable file$"):
        deribit.read_chain_csv(tmp_path / "dir.csv")
