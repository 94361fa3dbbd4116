"""The table contract: coercion, and errors that name the table, column and row."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitulation import tables
from capitulation.errors import DataError


def prices(**over):
    base = {
        "date": ["2026-02-04", "2026-02-05"],
        "symbol": ["BTC-USD", "BTC-USD"],
        "open": [None, None],
        "high": [None, None],
        "low": [None, None],
        "close": ["73019.70", 62702.1],
        "volume": [None, None],
    }
    return pd.DataFrame({**base, **over})


def test_valid_frame_is_coerced_to_contract_dtypes():
    df = tables.validate("daily_prices", prices())
    assert str(df["date"].dtype) == "datetime64[ns, UTC]"
    assert df["close"].tolist() == [73019.70, 62702.1]
    assert df["open"].isna().all()


def test_unknown_table_is_named():
    with pytest.raises(DataError, match="unknown table 'quotes'"):
        tables.validate("quotes", prices())


def test_missing_column_is_named():
    with pytest.raises(DataError, match=r"daily_prices.*missing column.*close"):
        tables.validate("daily_prices", prices().drop(columns="close"))


def test_unexpected_column_is_named():
    with pytest.raises(DataError, match=r"unexpected column.*bogus"):
        tables.validate("daily_prices", prices(bogus=[1, 2]))


def test_malformed_number_names_column_and_row():
    with pytest.raises(DataError, match=r"'daily_prices', column 'close', row 1: malformed number '6,2702'"):
        tables.validate("daily_prices", prices(close=[1.0, "6,2702"]))


def test_nan_where_not_allowed_names_column_and_row():
    with pytest.raises(DataError, match=r"column 'close', row 0: missing value"):
        tables.validate("daily_prices", prices(close=[np.nan, 1.0]))


def test_infinite_number_is_rejected():
    with pytest.raises(DataError, match="row 1: infinite"):
        tables.validate("daily_prices", prices(close=[1.0, math.inf]))


def test_malformed_time_names_row():
    with pytest.raises(DataError, match=r"column 'date', row 1: malformed time 'not a day'"):
        tables.validate("daily_prices", prices(date=["2026-02-04", "not a day"]))


def test_text_column_rejects_numbers():
    with pytest.raises(DataError, match=r"column 'symbol', row 0: expected text"):
        tables.validate("daily_prices", prices(symbol=[5, "BTC-USD"]))


def test_integer_column_rejects_fractions():
    net = pd.DataFrame(
        {
            "date": ["2026-02-05"],
            "height": [1.5],
            "difficulty": [1.0],
            "hashrate_ehs": [1.0],
            "fees_btc_per_block": [0.1],
            "subsidy_btc": [3.125],
        }
    )
    with pytest.raises(DataError, match=r"height.*expected an integer"):
        tables.validate("btc_network", net)


def test_every_table_has_an_empty_form_with_units_documented():
    for name, spec in tables.TABLES.items():
        assert list(tables.empty(name).columns) == spec.names
        assert spec.time_column in spec.names
        for col in spec.columns:
            if col.kind == "float":
                assert col.unit, f"{name}.{col.name} has no unit"


@given(st.lists(st.floats(-tables.MAGNITUDE, tables.MAGNITUDE, width=64), min_size=1, max_size=20))
def test_finite_numbers_and_their_text_survive_validation(values):
    n = len(values)
    days = pd.date_range("2026-01-01", periods=n, tz="UTC")
    df = pd.DataFrame({"date": days, "fund": ["IBIT"] * n, "flow_usd": [repr(v) for v in values]})
    out = tables.validate("etf_flows", df)
    assert out["flow_usd"].tolist() == values


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: abs(v) > tables.MAGNITUDE))
def test_absurd_magnitudes_are_rejected_even_where_no_range_is_stated(value):
    df = pd.DataFrame({"date": ["2026-02-05"], "fund": ["IBIT"], "flow_usd": [value]})
    with pytest.raises(
        DataError, match=r"'etf_flows', column 'flow_usd', row 0: out of range .*\[date 2026-02-05, fund IBIT\]"
    ):
        tables.validate("etf_flows", df)


@given(
    st.text(min_size=1).filter(
        lambda s: (
            s.strip().lower() not in {"nan", "none", "", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}
        )
    )
)
def test_non_numeric_text_is_always_a_data_error_or_a_number(text):
    df = pd.DataFrame({"date": ["2026-02-05"], "fund": ["IBIT"], "flow_usd": [text]})
    try:
        out = tables.validate("etf_flows", df)
    except DataError as exc:
        assert "flow_usd" in str(exc)
    else:
        assert math.isfinite(out["flow_usd"].iloc[0])


# Domain checks, keys and the row policy


def test_a_zero_negative_or_absurd_price_is_refused_naming_column_row_and_key():
    for bad in (0.0, -62702.0, 1e300):
        with pytest.raises(
            DataError,
            match=r"'daily_prices', column 'close', row 1: out of range \(valid: > 0 and <= 1e\+08\).*"
            r"\[date 2026-02-05, symbol BTC-USD\]",
        ):
            tables.validate("daily_prices", prices(close=[73019.7, bad]))


def test_every_number_column_states_a_range_or_is_bounded_by_the_magnitude():
    for spec in tables.TABLES.values():
        for col in spec.columns:
            if col.kind in ("float", "int"):
                assert col.range_text(), f"{spec.name}.{col.name}"
                assert col.out_of_range(pd.Series([2 * tables.MAGNITUDE])).all()


def test_mark_iv_bound_is_500_percent_and_dvol_shares_it():
    iv = next(c for c in tables.OPTION_QUOTES.columns if c.name == "mark_iv")
    assert iv.out_of_range(pd.Series([0.0, 1.71, 5.0, 9.99])).tolist() == [True, False, False, True]
    dvol = next(c for c in tables.VOL_INDEX.columns if c.name == "close")
    assert dvol.out_of_range(pd.Series([-0.826, 0.826, 8.26])).tolist() == [True, False, True]


def test_bitcoin_tables_start_at_the_genesis_block():
    flows = pd.DataFrame({"date": ["2009-01-02", "2009-01-03"], "fund": ["IBIT", "IBIT"], "flow_usd": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"column 'date', row 0: out of range \(valid: >= 2009-01-03\)"):
        tables.validate("etf_flows", flows)
    assert len(tables.validate("etf_flows", flows.iloc[1:])) == 1


def test_a_row_after_the_retrieval_time_is_an_error_not_dropped():
    late = prices(date=["2026-02-04", "2100-01-01"])
    with pytest.raises(DataError, match=r"column 'date', row 1: after the data was retrieved .*: 2100-01-01"):
        tables.validate("daily_prices", late, not_after=pd.Timestamp("2026-02-06", tz="UTC"))


def test_identical_rows_are_one_row_said_twice_and_len_counts_them():
    df = prices(date=["2026-02-05", "2026-02-05"], close=[62702.1, 62702.1])
    out = tables.validate("daily_prices", df)
    assert len(df) - len(out) == 1 and out["close"].tolist() == [62702.1]


def test_conflicting_rows_on_one_key_name_both_rows_and_the_difference():
    df = prices(date=["2026-02-05", "2026-02-05"], close=[62702.1, 627021.0])
    with pytest.raises(
        DataError,
        match=r"'daily_prices', rows 0 and 1 \[date 2026-02-05, symbol BTC-USD\]: the same key twice with "
        r"different values \(close 62702.1 vs 627021.0\)",
    ):
        tables.validate("daily_prices", df)


def test_option_chains_are_keyed_by_time_and_instrument():
    assert tables.OPTION_QUOTES.key == ("timestamp", "venue", "instrument")
    assert all(set(s.key) <= set(s.names) for s in tables.TABLES.values())
    assert tables.TREASURY_INSTRUMENTS.key == ()  # two identical tranches are two instruments


def test_drop_bad_rows_counts_each_row_under_the_first_rule_it_breaks():
    df = pd.concat([prices(close=[-5.0, 62702.1], volume=[-1.0, 1.0]), prices(date=["2026-02-06"] * 2)])
    df = df.iloc[:3].assign(date=["2026-02-03", "2026-02-04", "2026-02-06"], close=[-5.0, 62702.1, 0.0])
    out, counts = tables.drop_bad_rows("daily_prices", df)
    assert out["close"].tolist() == [62702.1]
    assert counts == {"close: out of range (valid: > 0 and <= 1e+08)": 2}  # row 0's volume < 0 not counted again
