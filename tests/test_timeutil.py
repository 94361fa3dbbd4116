"""One meaning of time: a bare as_of date is the end of its UTC day in every spelling; ACT/365; ages in days."""

import datetime as dt
import doctest

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitulation import tables, timeutil
from capitulation.errors import DataError
from capitulation.timeutil import age_days, parse_as_of, year_fraction

END_OF_5_FEB = pd.Timestamp("2026-02-05T23:59:59Z")


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-05",
        "2026-2-5",
        "20260205",
        "2026/02/05",
        "2026.02.05",
        " 2026-02-05 ",
        "5 Feb 2026",
        "February 5, 2026",
        dt.date(2026, 2, 5),
    ],
)
def test_a_bare_date_in_any_spelling_is_the_end_of_that_utc_day(text):
    assert parse_as_of(text) == END_OF_5_FEB


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-02-05T00:00", "2026-02-05T00:00Z"),  # a clock part is kept, even at midnight
        ("2026-02-05T00", "2026-02-05T00:00Z"),
        ("20260205T0000", "2026-02-05T00:00Z"),
        ("2026-02-05 08:00", "2026-02-05T08:00Z"),  # naive is UTC
        ("2026-02-05T08:00:00+01:00", "2026-02-05T07:00Z"),
        ("2026-02-05T23:59:59Z", "2026-02-05T23:59:59Z"),
        (pd.Timestamp("2026-02-05"), "2026-02-05T00:00Z"),  # a Timestamp is an instant, not a date
        (dt.datetime(2026, 2, 5, 8), "2026-02-05T08:00Z"),
    ],
)
def test_a_time_keeps_its_clock(text, instant):
    assert parse_as_of(text) == pd.Timestamp(instant)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "as_of is empty"),
        ("   ", "as_of is empty"),
        ("soon", "not a date/time: 'soon'"),
        ("2026-02", "does not name a whole date"),
        ("2026", "does not name a whole date"),
        ("08:00", "does not name a whole date"),  # not "today at 08:00"
        ("2026-02-30", "not a date/time"),
    ],
)
def test_what_is_not_a_whole_date_is_a_data_error(text, message):
    with pytest.raises(DataError, match=message):
        parse_as_of(text)


@given(st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_every_iso_spelling_of_a_date_gives_the_end_of_that_utc_day(day):
    end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59)
    spellings = {
        day.isoformat(),  # 2026-02-05
        f"{day.year}-{day.month}-{day.day}",  # 2026-2-5
        day.strftime("%Y%m%d"),  # 20260205
        day.strftime("%Y/%m/%d"),
        day,
    }
    assert {parse_as_of(s) for s in spellings} == {end}
    assert parse_as_of(f"{day.isoformat()}T00:00") == end - timeutil.DAY_CLOSE


def test_year_fraction_is_act_365():
    t0 = pd.Timestamp("2026-01-01T08:00Z")
    assert year_fraction(t0, t0 + pd.Timedelta(days=365)) == 1.0
    assert year_fraction(t0, pd.Timestamp("2027-01-01T08:00Z")) == 1.0  # 2026 is 365 days
    assert year_fraction(t0, pd.Timestamp("2029-01-01T08:00Z")) == 1096 / 365  # 2028 is a leap year: ACT
    assert year_fraction(t0, t0 + pd.Timedelta(hours=6)) == 0.25 / 365
    assert year_fraction(t0 + pd.Timedelta(days=73), t0) == -0.2
    expiries = pd.Series(pd.to_datetime(["2026-01-02T08:00", "2026-03-27T08:00", None], utc=True))
    got = year_fraction(t0, expiries)
    assert got[:2].tolist() == [1 / 365, 85 / 365] and pd.isna(got[2])


def test_age_in_days_counts_from_when_a_row_became_known():
    as_of = END_OF_5_FEB
    assert age_days(as_of, pd.Timestamp("2026-02-04T11:59:59Z")) == 1.5
    daily, instant = tables.DAILY_PRICES, tables.OPTION_QUOTES
    # a daily close stamped 2026-02-05 00:00 is known at 23:59:59 that day: 0 days old at the end of it
    assert daily.age_days(as_of, pd.Timestamp("2026-02-05", tz="UTC")) == 0.0
    assert daily.age_days(as_of, pd.Timestamp("2026-02-03", tz="UTC")) == 2.0
    assert daily.age_days(pd.Timestamp("2026-02-06T11:59:59Z"), pd.Timestamp("2026-02-05", tz="UTC")) == 0.5
    # an instantaneous row is known at its own time
    assert instant.age_days(as_of, pd.Timestamp("2026-01-24T13:00Z")) == 12 + (10 * 3600 + 59 * 60 + 59) / 86400


def test_docstring_examples_hold():
    assert doctest.testmod(timeutil).failed == 0
