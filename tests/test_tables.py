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
    with pytest.raises(DataError, match=r"'etf_flows', column 'flow_usd', row 0: out of range .*\[date 2026-02-05, fund IBIT\]"):
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
