"""Shared helpers of the file importers: checked reads, number/date parsing with file/column/row errors,
and Provenance construction and combination.

Row numbers in error messages are 1-based data rows (the header is not counted) for CSV files, and
0-based record indices for JSON lists (`record 0` is the first element).

The file itself: a path where nothing is is an absent (optional) file; anything else there that is not a
readable regular file (a directory, a symlink that loops or points nowhere) is an error naming it
(`present`, `require_file`). A file with no data rows (a header only, an empty record list) is an error
(`require_rows`): a download that failed half-way is a lost file, not a series that has no rows. A CSV
whose last line has no line break may be cut short: visibly cut (`check_complete`) it is an error,
otherwise its provenance notes say so (`provenance`).
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable, Sequence, Sized
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance

log = logging.getLogger("capitulation.sources")

BLANKS = frozenset({"", "nan", "NaN", "null", "None", "NA", "N/A"})
"""Cell texts read as 'no value' wherever an importer allows missing values."""


TAIL_BYTES = 1 << 16
"""Bytes read from a file's end to find its last line (a longer last line is read in part)."""


def _not_a_file(p: Path) -> DataError:
    if p.is_dir():
        what = "a directory"
    elif p.is_symlink():
        what = "a symlink that loops or points nowhere"
    else:
        what = "not a regular file"
    return DataError(f"{p}: {what}, not a readable file")


def present(path: str | Path) -> bool:
    """Whether an optional file is there: True for a regular file (or a link to one), False when nothing is
    at `path` (logged, skipped); `DataError` naming the path when something else is there (a directory, a
    symlink that loops or points nowhere): a file in the wrong shape is not an absent file."""
    p = Path(path)
    if p.is_file():
        return True
    if os.path.lexists(p):
        raise _not_a_file(p)
    log.info("not found, skipped: %s", p)
    return False


def require_file(path: str | Path) -> Path:
    """`path` as a Path; `SourceError` naming it when nothing is there, `DataError` when something that is
    not a regular file is (`present`)."""
    p = Path(path)
    if not p.is_file():
        if os.path.lexists(p):
            raise _not_a_file(p)
        raise SourceError(f"file not found: {p}")
    return p


def require_rows(rows: Sized, path: Path, what: str = "data rows") -> None:
    """`DataError` naming the file when it holds no data rows (`rows`: its rows or records as read, before
    any is dropped): a header only or an empty record list is a lost file, not an empty series."""
    if len(rows) == 0:
        raise DataError(f"{path}: no {what}")


def unterminated_line(path: Path) -> str | None:
    """The file's last line when it does not end with a line break (UTF-8 text, at most `TAIL_BYTES`), else
    None (an empty file, or trailing blanks after the last line break, too)."""
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    line = tail.rsplit(b"\n", 1)[-1]
    return None if line.endswith(b"\r") or not line.strip() else line.decode("utf-8", errors="replace")


def check_complete(path: Path, df: pd.DataFrame) -> None:
    """`DataError` naming file, column and row when a CSV's last line has no line break and is visibly cut:
    fewer fields than the header, or a last field shorter than every other value of its column (e.g.
    '12345.6' cut to '12'). A last line without a line break that looks whole is left to the provenance
    notes (`provenance`): two recorded files end so."""
    line = unterminated_line(path)
    if line is None or df.empty:
        return
    n, row = len(df.columns), len(df)
    fields = next(csv.reader([line]), [])
    if len(fields) < n:
        raise DataError(
            f"{path}: row {row} (the last line, no line break): {len(fields)} of {n} fields: the file is cut short"
        )
    col = df.columns[-1]
    text = df[col].astype(str).str.strip()
    others = text.iloc[:-1][text.iloc[:-1] != ""]
    if len(others) and len(text.iloc[-1]) < others.str.len().min():
        raise DataError(
            f"{path}: column {col!r}, row {row} (the last line, no line break): {text.iloc[-1]!r} is shorter "
            "than every other value of the column: the file is cut short"
        )


def cut_short_note(path: Path) -> str:
    """The provenance note of a CSV whose last line has no line break ('' otherwise). It names the line by
    its number, which a cut changes and the order of the rows does not."""
    if path.suffix.lower() != ".csv" or not path.is_file() or unterminated_line(path) is None:
        return ""
    lines = path.read_bytes().count(b"\n") + 1
    return f" Line {lines} (the last) has no line break: the file may be cut short."


def read_csv_text(path: str | Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV as text (no type guessing; a UTF-8 byte-order mark is dropped; header names stripped).

    `SourceError` when the file is missing or unreadable, `DataError` naming the file and the first
    missing column when a `required` column is absent, when it has no data row (`require_rows`) or its
    last line is visibly cut (`check_complete`).
    """
    p = require_file(path)
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except OSError as exc:
        raise SourceError(f"cannot read {p}: {exc}") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: not a readable CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{p}: empty file (no header)") from None
    df.columns = [str(c).strip() for c in df.columns]
    for col in required:
        if col not in df.columns:
            raise DataError(f"{p}: missing column {col!r} (columns: {', '.join(map(str, df.columns))})")
    require_rows(df, p)
    check_complete(p, df)
    return df


def read_json(path: str | Path) -> Any:
    """Parse a JSON file (a UTF-8 byte-order mark is allowed); `SourceError`/`DataError` naming the file."""
    p = require_file(path)
    try:
        return json.loads(p.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise SourceError(f"cannot read {p}: {exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not valid JSON ({exc})") from None


def is_blank(values: pd.Series) -> pd.Series:
    """True where a text cell means 'no value' (see `BLANKS`)."""
    return values.isna() | values.astype(str).str.strip().isin(BLANKS)


def numbers(values: pd.Series, path: Path, column: str, *, blank_ok: bool = False, row: str = "row") -> pd.Series:
    """Parse a text column to float64; blanks become NaN when `blank_ok`, else they are malformed.

    `DataError` naming file, column and row (`row` is the word used: 'row' for CSV, 'record' for JSON).
    """
    text = values.astype(str).str.strip()
    out = pd.to_numeric(text.where(~is_blank(values)), errors="coerce").astype("float64")
    bad = out.isna() & (~is_blank(values) | (not blank_ok))
    if bad.any():
        raise DataError(_where(path, column, bad, values, row, "malformed number"))
    return out


def times(values: pd.Series, path: Path, column: str, fmt: str, *, row: str = "row") -> pd.Series:
    """Parse a text column to tz-aware UTC times with format `fmt` (strptime or 'ISO8601').

    Naive times are taken as UTC. `DataError` naming file, column and row for a malformed or blank time.
    """
    text = values.astype(str).str.strip()
    out = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    bad = out.isna()
    if bad.any():
        raise DataError(_where(path, column, bad, values, row, "malformed date/time"))
    return out.astype("datetime64[ns, UTC]")


def check_range(values: pd.Series, column: tables.Column, path: Path, name: str, *, row: str = "row") -> None:
    """`DataError` naming file, column `name` and row for the first value of a file's parsed column that is
    infinite or outside `column`'s range (`tables.Column.out_of_range`): each file's rows checked before
    they are merged into a table, so that the error names the file that holds the value. NaN passes."""
    bad = column.out_of_range(values)  # inf too: |inf| > MAGNITUDE
    if bad.any():
        raise DataError(_where(path, name, bad, values, row, f"out of range (valid: {column.range_text()}):"))


def _where(path: Path, column: str, bad: pd.Series, values: pd.Series, row: str, what: str) -> str:
    i = int(bad.to_numpy().nonzero()[0][0])
    n = i + 1 if row == "row" else i
    v = values.iloc[i]
    return f"{path}: column {column!r}, {row} {n}: {what} {v.item() if isinstance(v, np.generic) else v!r}"


def drop_blank_rows(df: pd.DataFrame, column: str, path: Path, what: str) -> pd.DataFrame:
    """Drop rows whose `column` is blank, logging how many (a recorded 'n/a', not an error)."""
    blank = is_blank(df[column])
    if blank.any():
        log.info("%s: dropped %d row(s) with blank %s (%s)", path, int(blank.sum()), column, what)
    return df[~blank].reset_index(drop=True)


def conform(name: str, df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, str]:
    """`tables.validate(name, df)` for a table read from `path`: a `DataError` names the file; the note (for
    the provenance) counts the rows that repeated an earlier row and were dropped ('' when none)."""
    try:
        out = tables.validate(name, df)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    return out, repeats_note(len(df) - len(out))


def repeats_note(n: int, what: str = "row") -> str:
    """The provenance note counting `n` dropped `what`s that repeated an earlier one ('' when none): one
    wording for every importer."""
    return f" {n} {what}(s) repeating an earlier {what} dropped." if n else ""


def one_per_key(df: pd.DataFrame, key: list[str], path: Path, *, first_row: int = 1) -> tuple[pd.DataFrame, int]:
    """`df` (a file's rows before they form a table, one row of `df` per row of the file) without rows
    repeating an earlier row, and how many were dropped; `DataError` naming the file and both rows when two
    rows share `key` but differ. `first_row`: the number of the file's first row (1: data rows of a CSV;
    0: records of a JSON list, as the module docstring says)."""
    out = tables.drop_repeats(df, key, str(path), first_row=first_row)
    return out, len(df) - len(out)


def written_at(path: Path) -> pd.Timestamp:
    """When the file was last written (its modification time, UTC), but no later than now: no row of a
    recorded file can be dated after it."""
    mtime = pd.Timestamp(path.stat().st_mtime, unit="s", tz="UTC")
    return min(mtime, pd.Timestamp.now(tz="UTC"))


def check_not_after_written(path: Path, stamps: pd.Series) -> None:
    """`DataError` naming the file, column and row when a row's time is after the file was written (a row
    re-dated into the future is corrupt, not a row to drop)."""
    if len(stamps) == 0 or not path.is_file():
        return
    limit = written_at(path)
    late = (stamps > limit).to_numpy()
    if late.any():
        i = int(late.nonzero()[0][0])
        raise DataError(
            f"{path}: column {stamps.name!r}, row {i}: {stamps.iloc[i].isoformat()} is after the file was "
            f"written ({limit:%Y-%m-%d %H:%M} UTC)"
        )


def provenance(path: Path, stamps: pd.Series, licence: str, notes: str, *, synthetic: bool = False) -> Provenance:
    """Provenance of one recorded file.

    The real retrieval time of a recorded file is not known, so `retrieved_at` is the file's last
    recorded time (ISO, UTC): the data cannot have been retrieved before it. The recorded range is
    stated at the front of `notes`, a CSV's last line without a line break at the end (`cut_short_note`).
    `DataError` when a time is after the file was written (`check_not_after_written`).
    """
    check_not_after_written(path, stamps)
    if len(stamps) == 0:
        first = last = "none"
    else:
        first, last = stamps.min().isoformat(), stamps.max().isoformat()
    span = f"recorded {first} .. {last}; retrieved_at = last recorded time (retrieval time not recorded)"
    return Provenance(
        source=str(path),
        retrieved_at=last,
        licence=licence,
        notes=f"{span}. {notes}".strip() + cut_short_note(path),
        synthetic=synthetic,
    )


def combine(provs: Iterable[Provenance]) -> Provenance:
    """One Provenance for a table built from several files: sources and distinct licences joined with '; ',
    the latest retrieved_at, notes joined per source, synthetic if any part is, dropped rows summed."""
    items = list(provs)
    if not items:
        raise DataError("combine: no provenance to combine")
    if len(items) == 1:
        return items[0]
    licences = dict.fromkeys(lic for p in items for lic in p.licence.split("; "))
    return Provenance(
        source="; ".join(p.source for p in items),
        retrieved_at=max(p.retrieved_at for p in items),
        licence="; ".join(licences),
        notes=" | ".join(p.notes if "; " in p.source else f"[{Path(p.source).name}] {p.notes}" for p in items),
        synthetic=any(p.synthetic for p in items),
        dropped_rows=sum(p.dropped_rows for p in items),
    )
