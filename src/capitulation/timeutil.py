"""One meaning of time for the whole package: UTC instants, the as_of a user names, ACT/365, ages in days.

* every time is a tz-aware UTC `pd.Timestamp`; naive input is taken as UTC (`utc`);
* an as_of given as a bare date (any spelling: 2026-02-05, 2026-2-5, 20260205, a `datetime.date`) means
  the end of that UTC day, 23:59:59, when the day's closes are known; one with a clock part is that
  instant (`parse_as_of`); the CLI's `--as-of` and the Python API read it the same way;
* time to expiry is ACT/365: t = elapsed seconds / (365 x 86400) (`year_fraction`);
* the age of a row is measured from when it became known (`tables.TableSpec.known_at`), in days of
  86,400 s (`age_days`);
* a duration a user gives (`--every`, `--horizon`, `--window`, `--refresh`) is one whole number and one
  unit: 30s, 5m, 1h, 30d, 4w (`parse_duration`).

The lowest layer: it imports nothing of the package but its errors and the duration grammar's words
(`choices`, light for the command line's --help).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import overload

import numpy as np
import pandas as pd
from dateutil import parser as dateparser

from capitulation.choices import DURATION_HELP, DURATION_UNITS
from capitulation.errors import DataError

DAY = pd.Timedelta(days=1)
DAY_CLOSE = DAY - pd.Timedelta(seconds=1)
"""From a date's 00:00 UTC to its last second, when the day's close is known: the meaning of a bare date
(`--as-of 2026-02-05` is 23:59:59 that day) and the stamp of a daily close among instantaneous rows."""

SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.0
"""ACT/365: a year is 365 days of 86,400 s, whatever the calendar (time to expiry, per-day greeks)."""
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY

# Two reference datetimes that differ in every field: a field dateutil fills from its `default` (one the
# text does not give) comes out differently under the two, a field the text gives comes out the same.
_PROBES = (datetime(2001, 1, 1, 1, 1, 1, 1), datetime(2002, 2, 2, 2, 2, 2, 2))


def utc(ts: str | date | np.datetime64 | pd.Timestamp) -> pd.Timestamp:
    """A tz-aware UTC timestamp from a date/time string or timestamp (naive input is taken as UTC; a bare
    date is its 00:00). `DataError` when it is not a date/time."""
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError) as exc:
        raise DataError(f"not a date/time: {ts!r} ({exc})") from None
    if pd.isna(t):
        raise DataError(f"not a date/time: {ts!r}")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _fields_given(text: str) -> tuple[bool, bool]:
    """(whether `text` names a whole date, whether it has a clock part), by what dateutil reads in it;
    (True, True) for text dateutil cannot read (pandas' reading of it stands as an instant)."""
    try:
        a, b = (dateparser.parse(text, default=d) for d in _PROBES)
    except (ValueError, OverflowError):
        return True, True
    return (a.year, a.month, a.day) == (b.year, b.month, b.day), a.hour == b.hour


def parse_as_of(when: str | date | np.datetime64 | pd.Timestamp) -> pd.Timestamp:
    """The UTC instant an as_of names: a bare date means the end of that UTC day (00:00 + `DAY_CLOSE`).

    A bare date is a string without a clock part, in any spelling pandas reads (2026-02-05, 2026-2-5,
    20260205, 2026/02/05, 5 Feb 2026), or a `datetime.date`; a string with a clock part (2026-02-05T00:00,
    2026-02-05 08:00+01:00) and a datetime / Timestamp are that instant (naive = UTC). `DataError` for an
    empty string, text that is not a date/time, or one without a whole date (2026-02, 08:00).

    >>> parse_as_of("2026-2-5")
    Timestamp('2026-02-05 23:59:59+0000', tz='UTC')
    >>> parse_as_of("2026-02-05T08:00")
    Timestamp('2026-02-05 08:00:00+0000', tz='UTC')
    """
    if isinstance(when, str):
        text = when.strip()
        if not text:
            raise DataError("as_of is empty: give a date such as 2026-02-05 or a time such as 2026-02-05T08:00")
        t = utc(text)
        whole_date, clock = _fields_given(text)
        if not whole_date:
            raise DataError(f"as_of {when!r} does not name a whole date: give the day, e.g. 2026-02-05")
        return t if clock else t + DAY_CLOSE
    if isinstance(when, date) and not isinstance(when, datetime):
        return utc(when) + DAY_CLOSE
    return utc(when)


@overload
def year_fraction(start: pd.Timestamp, end: pd.Timestamp) -> float: ...
@overload
def year_fraction(start: pd.Series | pd.Timestamp, end: pd.Series | pd.Timestamp) -> np.ndarray: ...
def year_fraction(start: pd.Series | pd.Timestamp, end: pd.Series | pd.Timestamp) -> float | np.ndarray:
    """ACT/365 from `start` to `end`: elapsed seconds / (365 x 86,400), in years; negative when `end` is
    earlier. Two timestamps give a float; a Series of them (either side) gives an array, NaN where NaT.

    >>> year_fraction(pd.Timestamp("2026-01-01T08:00Z"), pd.Timestamp("2026-01-02T08:00Z")) * 365
    1.0
    """
    span = end - start
    if isinstance(span, pd.Timedelta):
        return span.total_seconds() / SECONDS_PER_YEAR
    return span.dt.total_seconds().to_numpy() / SECONDS_PER_YEAR


def age_days(as_of: pd.Timestamp, known_at: pd.Timestamp) -> float:
    """Days (of 86,400 s) from `known_at` (when a row became known: `tables.TableSpec.known_at`) to `as_of`.

    >>> age_days(pd.Timestamp("2026-02-05T23:59:59Z"), pd.Timestamp("2026-02-04T11:59:59Z"))
    1.5
    """
    return (as_of - known_at).total_seconds() / SECONDS_PER_DAY


_DURATION = re.compile(r"\s*([0-9]+)\s*(s|m|min|h|d|w|S|MIN|Min|H|D|W)\s*")


def parse_duration(
    text: str,
    option: str,
    *,
    zero: bool = False,
    whole_days: bool = False,
    divides_day: bool = False,
) -> pd.Timedelta:
    """The interval `text` names for the command-line option `option` (named in the error).

    Grammar: a whole number and a unit, s (seconds), m (minutes), h (hours), d (days of 86,400 s) or w
    (7 days); units other than m read in either case, and `min` (pandas' spelling, e.g. 15min) also means
    minutes. A bare number is refused (300 was seconds for one option and days for another), as is M (months
    or minutes?). `zero`: 0 is allowed; `whole_days`: a whole number of days; `divides_day`: one day is a
    whole number of it. `DataError` naming the option and the accepted form otherwise.

    >>> parse_duration("15min", "--every")
    Timedelta('0 days 00:15:00')
    >>> parse_duration("4w", "--horizon", whole_days=True).days
    28
    """
    m = _DURATION.fullmatch(text)
    if m is None:
        hint = f" (give a unit: {text.strip()}s, {text.strip()}m or {text.strip()}d)" if text.strip().isdigit() else ""
        raise DataError(f"{option} must be {DURATION_HELP}, got {text!r}{hint}")
    unit = "m" if m[2].lower() == "min" else m[2].lower()
    step = pd.Timedelta(**{DURATION_UNITS[unit]: int(m[1])})
    if step == pd.Timedelta(0) and not zero:
        raise DataError(f"{option} must be more than 0, got {text!r}")
    if whole_days and step % DAY != pd.Timedelta(0):
        raise DataError(f"{option} must be a whole number of days, e.g. 7d or 4w, got {text!r}")
    if divides_day and step > pd.Timedelta(0) and DAY % step != pd.Timedelta(0):
        raise DataError(f"{option} must be positive and divide one day (e.g. 5m, 15m, 1h, 1d), got {text!r}")
    return step
