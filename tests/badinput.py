"""The bad-input matrix: every importer of the recorded data, fed one corrupted file at a time, through the
path of `capitulation report --json` (importers, snapshot, the eight verdicts, the rendered JSON).

Generated, not hand-listed:

* the importers are the `read_*` functions of the source modules `sources.recorded` uses, and the files are
  the ones they read while the clean report is built (one file per importer: its largest);
* each file is parsed generically (CSV rows, the largest record list of a JSON document, a Parquet frame),
  its date column and numeric columns found from their values, and one row picked: the latest on or before
  the report's as-of (a 'BTC' row where there is one), the one with the most non-zero numbers;
* `MUTATIONS` turn the file's bytes or its rows into a corrupted copy (a mutation that cannot be expressed in
  a format, e.g. text in a typed Parquet column, is left out).

Each case runs in this process on a mirror of the data folder (a symlink per file, the one corrupted file
written in its place): only the tables that read that file are loaded again (`recorded.load_tables(tables=)`,
which tables is traced while the clean report is built), and inside them only that file is parsed again
(the importers are memoized on the content of every file they opened), so the whole matrix costs about one
clean load plus the cases that import. A case is classified:

* clean error: a `CapitulationError` whose one-line message (as the CLI prints it) names the file;
* unclear error: a `CapitulationError` that does not name the file;
* traceback: any other exception, or a verdict that says `signals.INTERNAL_ERROR`;
* unchanged: the rendered JSON is the clean one (or the tables read are identical to the clean ones);
* flagged: the JSON differs and gained a text saying rows were dropped, substituted, stale or missing;
* changed silently: anything else.

Run `python tests/badinput.py` (PYTHONPATH=src) for the counts per class and the cases behind them.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import multiprocessing
import os
import pickle
import queue
import re
import shutil
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from capitulation import tables as contract
from capitulation.cli.common import clean, json_text
from capitulation.errors import CapitulationError, one_line
from capitulation.report import model
from capitulation.signals import INTERNAL_ERROR
from capitulation.snapshot import Derived, Snapshot, utc
from capitulation.sources import recorded

AS_OF = utc(recorded.DEFAULT_AS_OF)
CLASSES = ("clean error", "unclear error", "traceback", "unchanged", "flagged", "changed silently")
FLAG = re.compile(r"dropp|skipp|substitut|stale|too old|missing|gap|not enough data|duplicate|cut short", re.IGNORECASE)
"""Words of a text that tells the reader something was left out or replaced."""
MAX_COLUMN_CASES = 8
"""'missing column' cases per file: its first columns (a wide panel has a column per symbol)."""
RECENT = pd.Timedelta(days=31)
WORKERS = min(2, os.cpu_count() or 1)
"""Processes the cases run in (`Matrix.all_cases`)."""

# --- which files each table read, and memoized importers ------------------------------------------------------

_recording: list[set[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        path = os.path.abspath(os.fsdecode(args[0]))
        for deps in _recording:
            deps.add(path)


sys.addaudithook(_audit)  # permanent (Python has no removal); a no-op while nothing is recorded


@contextmanager
def recording() -> Iterator[set[str]]:
    """The absolute paths of every file opened inside the block (and given to a memoized importer)."""
    deps: set[str] = set()
    _recording.append(deps)
    try:
        yield deps
    finally:
        _recording.pop()  # nested blocks end in reverse order


def signature(path: str) -> object:
    """What a path holds: a symlink by its target (the mirror's clean files), a directory by its entries,
    a file by its content's hash."""
    if os.path.islink(path):
        return ("link", os.readlink(path))
    if os.path.isdir(path):
        return ("dir", tuple((n, signature(os.path.join(path, n))) for n in sorted(os.listdir(path))))
    if os.path.isfile(path):
        return ("file", hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest())
    return ("missing",)


@dataclass
class Memo:
    """Importer results by (function, arguments), valid while every file the call opened holds the same."""

    entries: dict[str, tuple[frozenset[str], tuple[object, ...], object]] = field(default_factory=dict)
    calls: dict[str, set[str]] = field(default_factory=dict)  # importer name -> the paths it was given
    hits: int = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def memoized(*args: Any, **kwargs: Any) -> Any:
            key = f"{fn.__module__}.{fn.__qualname__}{args!r}{sorted(kwargs.items())!r}"
            hit = self.entries.get(key)
            if hit is not None and tuple(signature(p) for p in sorted(hit[0])) == hit[1]:
                self.hits += 1
                for deps in _recording:
                    deps |= hit[0]
                return pickle.loads(hit[2])  # a copy: the caller may change what it gets
            paths = {os.path.abspath(a) for a in (*args, *kwargs.values()) if isinstance(a, Path)}
            self.calls.setdefault(fn.__name__, set()).update(paths)
            for outer in _recording:
                outer |= paths
            with recording() as deps:
                deps |= paths
                result = fn(*args, **kwargs)
            self.entries[key] = (frozenset(deps), tuple(signature(p) for p in sorted(deps)), pickle.dumps(result))
            return result

        return memoized


def importer_modules() -> list[ModuleType]:
    """The source modules `sources.recorded` reads files with."""
    return [
        m
        for m in vars(recorded).values()
        if isinstance(m, ModuleType) and m.__name__.startswith("capitulation.sources.")
    ]


def install_memo(mp: pytest.MonkeyPatch, memo: Memo) -> None:
    """Memoize every `read_*` function of `capitulation.sources` wherever `recorded` and the importer modules
    call it (their namespaces and `recorded`'s tables of readers, e.g. LIQUIDATION_FILES)."""
    wrapped: dict[Callable[..., Any], Callable[..., Any]] = {}
    for m in (recorded, *importer_modules()):
        for name, fn in list(vars(m).items()):
            if name.startswith("read_") and callable(fn) and fn.__module__.startswith("capitulation.sources."):
                wrapped.setdefault(fn, memo.wrap(fn))
                mp.setattr(m, name, wrapped[fn])
    for table in (v for v in vars(recorded).values() if isinstance(v, dict)):
        for k, v in list(table.items()):
            if callable(v) and v in wrapped:
                mp.setitem(table, k, wrapped[v])


def reuse_validated(mp: pytest.MonkeyPatch, done: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> None:
    """`tables.validate` (`Snapshot`'s check of every table) answered from memory for the clean tables as
    loaded, `done`: name -> (that very frame, its validated frame): a case's snapshot holds every table its
    file does not feed as the clean object; any other frame (a table read again) is validated as before."""
    validate = contract.validate

    def validated(name: str, df: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        hit = done.get(name)
        return hit[1] if hit is not None and df is hit[0] and not kwargs else validate(name, df, **kwargs)

    mp.setattr(contract, "validate", validated)


class ReadTables(dict):  # type: ignore[type-arg]
    """A snapshot's tables that note every name asked for (get, [], in, iteration) in `asked`."""

    asked: set[str]

    def __getitem__(self, k: str) -> Any:
        self.asked.add(k)
        return super().__getitem__(k)

    def get(self, k: str, default: Any = None) -> Any:
        self.asked.add(k)
        return super().get(k, default)

    def __contains__(self, k: object) -> bool:
        self.asked.add(str(k))
        return super().__contains__(k)

    def __iter__(self) -> Iterator[str]:
        self.asked.update(self.keys())
        return super().__iter__()

    def items(self) -> Any:
        self.asked.update(self.keys())
        return super().items()

    def values(self) -> Any:
        self.asked.update(self.keys())
        return super().values()


def derived_reads(origin: Any) -> dict[Hashable, frozenset[str]]:
    """For each history prepared on `origin` (its `Snapshot.derived` cache), the tables its computation asks
    for: computed again on a copy whose tables note what is asked."""
    out: dict[Hashable, frozenset[str]] = {}
    for key in list(origin._cache):
        if not isinstance(key[0], Derived):
            out[key] = frozenset({key[1]})  # ("known_at", table)
            continue
        probe = Snapshot(origin.as_of, origin.tables, origin.provenance)
        asked = ReadTables(probe.tables)
        asked.asked = set()
        object.__setattr__(probe, "tables", asked)
        key[0].compute(probe, *key[1:])
        out[key] = frozenset(asked.asked)
    return out


# --- the mirror of the data folder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mirror:
    """`root` holds a symlink to every file under `source` (folders real), so one file can be replaced."""

    source: Path
    root: Path

    @classmethod
    def build(cls, source: Path, root: Path) -> Mirror:
        for dirpath, _, files in os.walk(source):
            d = root / Path(dirpath).relative_to(source)
            d.mkdir(parents=True, exist_ok=True)
            for f in files:
                os.symlink(Path(dirpath) / f, d / f)
        return cls(source, root)

    @contextmanager
    def replaced(self, rel: str, make: Callable[[Path], None]) -> Iterator[Path]:
        """`rel` replaced by what `make(path)` puts there, then the symlink back."""
        path = self.root / rel
        path.unlink()
        try:
            make(path)
            yield path
        finally:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            os.symlink(self.source / rel, path)


# --- a file as rows, whatever its format ----------------------------------------------------------------------

KEY = "\0key"  # the member name of a record of a JSON object of records


@dataclass
class Rows:
    """A recorded file as columns and rows of cells (CSV text, JSON values, Parquet values), and the way
    back to bytes (`dump`). `keyed`: the records are the members of a JSON object (no duplicate can exist)."""

    kind: str
    columns: list[str]
    rows: list[dict[str, Any]]
    dump: Callable[[list[str], list[dict[str, Any]]], bytes]
    keyed: bool = False
    text: str | None = None  # CSV/JSON: the decoded text


def _reuse(kept: dict[int, tuple[dict[str, Any], Any]], row: dict[str, Any]) -> Any:
    """What was made of an original row once (its CSV line, its JSON record), if `row` is that very row: a
    mutation copies only the rows it changes, so a dump writes the others' text again from memory."""
    hit = kept.get(id(row))
    return hit[1] if hit is not None and hit[0] is row else None


class _Lines(list[str]):
    """A `csv.writer` target that keeps each row's text apart (the writer writes a row in one call)."""

    def write(self, text: str) -> None:
        self.append(text)


def _csv_rows(data: bytes) -> Rows:
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    end = "\n" if text.endswith("\n") else ""  # a file without a final line break is rewritten without one
    lines = list(csv.reader(io.StringIO(text)))
    header, body = lines[0], lines[1:]
    rows = [dict(zip(header, r, strict=False)) for r in body]
    written = _Lines()
    csv.writer(written, lineterminator="\n").writerows([[r.get(c, "") for c in header] for r in rows])
    kept = {id(r): (r, line) for r, line in zip(rows, written, strict=True)}

    def dump(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
        out = _Lines()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        same = columns == header
        for r in rows:
            line = _reuse(kept, r) if same else None
            if line is None:
                w.writerow([r.get(c, "") for c in columns])
            else:
                out.append(line)
        return ("\ufeff" if bom else "").encode() + ("".join(out).removesuffix("\n") + end).encode()

    return Rows("csv", header, rows, dump, text=text)


def _record_lists(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every list of objects and object of objects in a JSON document, with its path."""
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        yield path, doc
    if isinstance(doc, dict) and len(doc) > 1 and all(isinstance(r, dict) for r in doc.values()):
        yield path, doc
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in children:
        yield from _record_lists(v, (*path, k))


def _put(doc: Any, where: tuple[Any, ...], new: Any) -> Any:
    """`doc` with the value at path `where` replaced by `new` (the containers on the path copied, not `doc`)."""
    if not where:
        return new
    out = dict(doc) if isinstance(doc, dict) else list(doc)
    out[where[0]] = _put(doc[where[0]], where[1:], new)
    return out


def _json_rows(data: bytes) -> Rows:
    text = data.decode("utf-8-sig")
    doc = json.loads(text)
    where, coll = max(_record_lists(doc), key=lambda pc: len(pc[1]))
    keyed = isinstance(coll, dict)
    rows = [{KEY: k, **v} for k, v in coll.items()] if keyed else [dict(r) for r in coll]
    header = list(dict.fromkeys(c for r in rows for c in r if c != KEY))
    kept = {id(r): (r, {c: r[c] for c in header if c in r}) for r in rows}

    def dump(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
        same = columns == header
        recs = [(same and _reuse(kept, r)) or {c: r[c] for c in columns if c in r} for r in rows]
        new: Any = {r[KEY]: rec for r, rec in zip(rows, recs, strict=True)} if keyed else recs
        return json.dumps(_put(doc, where, new)).encode()

    return Rows("json", header, rows, dump, keyed=keyed, text=text)


def _parquet_rows(data: bytes) -> Rows:
    df = pd.read_parquet(io.BytesIO(data))
    index = df.index.name if df.index.name is not None else None
    flat = df.reset_index() if index is not None else df

    def dump(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
        out = pd.DataFrame(rows, columns=columns)
        if index is not None and index in out.columns:
            out = out.set_index(index)
        return out.to_parquet()

    return Rows("parquet", [str(c) for c in flat.columns], flat.to_dict("records"), dump)


READERS = {".csv": _csv_rows, ".json": _json_rows, ".parquet": _parquet_rows}


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _time(v: Any) -> pd.Timestamp | None:
    if isinstance(v, pd.Timestamp):
        return utc(v)
    if not isinstance(v, str) or _number(v) is not None or not re.search(r"\d", v):
        return None
    try:
        return utc(pd.Timestamp(v))
    except (ValueError, TypeError, OverflowError):
        return None


def _share(rows: list[dict[str, Any]], col: str, test: Callable[[Any], object]) -> float:
    vals = [r[col] for r in rows[:200] if r.get(col) not in (None, "")]
    vals = [v for v in vals if not (isinstance(v, float) and math.isnan(v))]
    return sum(test(v) is not None for v in vals) / len(vals) if vals else 0.0


@dataclass(frozen=True)
class Shape:
    """What the matrix needs of a file: its date column, its numeric columns, the row to corrupt."""

    date: str | None
    numbers: tuple[str, ...]
    row: int


def shape(rows: Rows) -> Shape:
    """The file's first date column and numeric columns (90 % of the first 200 filled cells parse), and its
    row seen by the report: the latest on or before `AS_OF` (else the first), a row with a cell 'BTC' where
    there is one, then the most non-zero numbers."""
    r = rows.rows
    date = next((c for c in rows.columns if _share(r, c, _time) >= 0.9), None)
    nums = tuple(c for c in rows.columns if c != date and _share(r, c, _number) >= 0.9)
    times = [_time(x.get(date)) if date else None for x in r]
    seen = [t for t in times if t is not None and t <= AS_OF]
    latest = max(seen) if seen else None
    cands = [i for i, t in enumerate(times) if t == latest] if latest is not None else list(range(len(r)))
    btc = [i for i in cands if "BTC" in r[i].values()]

    def filled(i: int) -> int:
        return sum((_number(r[i].get(c)) or 0.0) != 0.0 for c in nums)

    return Shape(date, nums, max(btc or cands or [0], key=filled))


# --- mutations ------------------------------------------------------------------------------------------------

Make = Callable[[Path], None]


def _write(data: bytes) -> Make:
    return lambda p: p.write_bytes(data)


SIGNED = frozenset(
    {
        # derivatives_oi_funding/PROVENANCE.md: funding_rates.csv is Binance BTCUSDT's daily mean 8h funding rate,
        # "Negative funding on 2020-03-13 etc. Real": a zero or negative mean is a reading, not a corruption.
        "funding_mean",
        # same PROVENANCE.md: bmp_fr_average.json's cross-venue average funding ("2022-11-09 -1.3e-4"), likewise.
        "funding_rate",
    }
)
"""Columns where a zero or a negative number is valid data: the 'zero' and 'negative' mutations leave them."""


def _cells(rows: Rows, s: Shape, value: Callable[[Any], Any], valid: frozenset[str] = frozenset()) -> Make | None:
    """The report's row with each of its numbers (but the `valid` columns) replaced by `value(old)` (text kept
    as text in JSON)."""
    if not s.numbers or not rows.rows:
        return None
    new = list(rows.rows)  # the rows kept are the same objects (`Rows.dump` writes them once)
    new[s.row] = dict(new[s.row])
    for c in s.numbers:
        old = new[s.row].get(c)
        if _number(old) is None or c in valid:
            continue
        v = value(_number(old))
        new[s.row][c] = str(v) if rows.kind == "csv" or isinstance(old, str) or isinstance(v, str) else v
    return _dumped(rows, rows.columns, new)


def _dumped(rows: Rows, columns: list[str], new: list[dict[str, Any]]) -> Make | None:
    try:
        data = rows.dump(columns, new)
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:  # not expressible in this format
        if rows.kind != "parquet":
            raise
        del exc
        return None
    return _write(data)


def _dated(rows: Rows, s: Shape, value: Callable[[Any], Any]) -> Make | None:
    """The report's row with its date replaced by `value(old)` (None: not expressible)."""
    if s.date is None:
        return None
    old = rows.rows[s.row][s.date]
    v = value(old)
    if v is None or v == old:
        return None
    new = list(rows.rows)
    new[s.row] = {**new[s.row], s.date: v}
    return _dumped(rows, rows.columns, new)


def _future(old: Any) -> Any:
    if isinstance(old, pd.Timestamp):
        return old.replace(year=2100)
    return re.sub(r"(?<!\d)(19|20)\d\d(?!\d)", "2100", old, count=1) if isinstance(old, str) else None


def _other_zone(old: Any) -> Any:
    """The same instant written with a +05:00 offset (a naive time read as UTC)."""
    t = _time(old) if isinstance(old, str) else None
    return None if t is None else t.tz_convert("+05:00").isoformat()


def _duplicate(rows: Rows, s: Shape, scale: float) -> Make | None:
    if rows.keyed or not rows.rows:
        return None
    copy_ = dict(rows.rows[s.row])
    for c in s.numbers:
        x = _number(copy_.get(c))
        if x is not None and scale != 1.0:
            v = x * scale if x else 1.0
            copy_[c] = str(v) if rows.kind == "csv" or isinstance(copy_[c], str) else v
    new = [*rows.rows[: s.row + 1], copy_, *rows.rows[s.row + 1 :]]
    return _dumped(rows, rows.columns, new)


def _renamed(c: str) -> str:
    """A header as another vendor spells it: upper case (lower case where it already is)."""
    return c if c == KEY else c.upper() if c != c.upper() else c.lower()


def _renamed_row(r: dict[str, Any]) -> dict[str, Any]:
    return {_renamed(c): v for c, v in r.items()}


def _loop(p: Path) -> None:
    os.symlink(p.name, p)


def mutations(data: bytes, rows: Rows) -> dict[str, Make | None]:
    """Every corruption of one file, by name (None: not expressible in its format)."""
    s = shape(rows)
    text = rows.text
    half = data[: len(data) // 2]
    garbage = hashlib.shake_256(data[:64]).digest(4096)
    out: dict[str, Make | None] = {
        "empty": _write(b""),
        "header only": _dumped(rows, rows.columns, []),
        "BOM": _write(b"\xef\xbb\xbf" + data),
        "wrong delimiter": _write(text.replace(",", ";").encode()) if rows.kind == "csv" and text else None,
        "UTF-16": _write(text.encode("utf-16")) if text is not None else None,
        "binary garbage": _write(garbage),
        "truncated": _write(half),
        "a directory": lambda p: p.mkdir(),
        "a symlink loop": _loop,
        "renamed columns": _dumped(rows, [_renamed(c) for c in rows.columns], [_renamed_row(r) for r in rows.rows]),
        "text in numbers": _cells(rows, s, lambda x: "abc"),
        "NaN": _cells(rows, s, lambda x: math.nan),
        "inf": _cells(rows, s, lambda x: math.inf),
        "zero": _cells(rows, s, lambda x: 0.0, SIGNED),
        "negative": _cells(rows, s, lambda x: -abs(x) if x else -1.0, SIGNED),
        "1e300": _cells(rows, s, lambda x: 1e300),
        "duplicate row, equal": _duplicate(rows, s, 1.0),
        "duplicate row, different values": _duplicate(rows, s, 2.0),
        "date unparseable": _dated(rows, s, lambda old: "not a date" if isinstance(old, str) else None),
        "out of order": _dumped(rows, rows.columns, rows.rows[::-1]) if len(rows.rows) > 1 else None,
        "date in the future": _dated(rows, s, _future),
        "mixed time zones": _dated(rows, s, _other_zone),
    }
    for c in rows.columns[:MAX_COLUMN_CASES]:
        out[f"missing column {c!r}"] = _dumped(rows, [x for x in rows.columns if x != c], rows.rows)
    return out


def recent(path: Path) -> bool:
    """Whether the file's report row (`shape`) is dated within `RECENT` before the as-of."""
    rows = READERS[path.suffix](path.read_bytes())
    s = shape(rows)
    t = _time(rows.rows[s.row].get(s.date)) if s.date and rows.rows else None
    return t is not None and AS_OF - RECENT <= t <= AS_OF


@functools.lru_cache(maxsize=1)
def _mutations_of(source: Path) -> dict[str, Make | None]:
    data = source.read_bytes()
    return mutations(data, READERS[source.suffix](data))


def remade(source: Path, mutation: str, path: Path) -> None:
    """`mutation` of the recorded file `source` written at `path`: a case's `make` that pickles (a helper
    process sends its cases back)."""
    make = _mutations_of(source)[mutation]
    assert make is not None, (source, mutation)
    make(path)


# --- the matrix -----------------------------------------------------------------------------------------------

Part = tuple[pd.DataFrame, Any]


@dataclass(frozen=True)
class Case:
    """One corrupted file through the report: its class and what says so (the error, the difference)."""

    file: str
    importers: str
    mutation: str
    cls: str
    detail: str
    make: Make = field(repr=False, compare=False)


def render(snap: Any) -> tuple[str, list[str]]:
    """`report --json`'s text for `snap` (the CLI's `model.build`, `clean`, `json_text`), and the verdicts
    that hit an internal error (an exception `signals` caught: a traceback under `-v`)."""
    rep = model.build(snap)
    internal = [f"{v.signal}: {v.headline}" for v in rep.verdicts if v.headline.startswith(INTERNAL_ERROR)]
    return json_text(clean(model.as_json(rep))), internal


def _leaves(doc: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, doc


def _clauses(values: Any) -> set[str]:
    """The clauses of every text (split at '. ', '; ', ' | '): a note whose recorded range changed is not a
    new flag because another clause of it says 'dropped'."""
    return {c for v in values if isinstance(v, str) for c in re.split(r"(?<=\.) |; | \| ", v)}


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "capitulation" in f.filename]
    return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""


@dataclass
class Helpers:
    """Processes that share the cases (`Matrix.all_cases`). Spawned, not forked: a fork would inherit numba's
    OpenMP threads, which GNU OpenMP forbids in a child. Each prepares its own `Matrix` on the same mirror
    (so its messages and report name the same paths), then takes groups of files from `todo`; no two
    processes corrupt files one table reads (`Matrix.groups`)."""

    procs: list[Any]
    todo: Any
    done: Any
    restored: Any

    @classmethod
    def start(cls, mirror: Mirror, n: int) -> Helpers:
        ctx = multiprocessing.get_context("spawn")
        todo, done, restored = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_helper, args=(mirror, todo, done, restored), daemon=True) for _ in range(n)]
        for p in procs:
            p.start()
        return cls(procs, todo, done, restored)

    def receive(self, kind: str) -> list[Any]:
        """One `kind` message from each helper (an error or a dead helper raises)."""
        out = []
        while len(out) < len(self.procs):
            try:
                got, value = self.done.get(timeout=5)
            except queue.Empty:
                if any(p.exitcode is not None for p in self.procs):
                    raise RuntimeError("a bad-input matrix helper died") from None
                continue
            if got == "error":
                raise RuntimeError(f"a bad-input matrix helper failed:\n{value}")
            assert got == kind, (got, kind)
            out.append(value)
        return out

    def stop(self) -> None:
        self.restored.set()
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()


def _helper(mirror: Mirror, todo: Any, done: Any, restored: Any) -> None:
    """A `Helpers` process: prepare, tell "ready", take groups until None, send the cases, then (once every
    process is done: `restored`) the clean report again."""
    try:
        with pytest.MonkeyPatch.context() as mp:
            m = Matrix.load(mirror, mp)
            done.put(("ready", None))
            cases = m.take(todo)
            done.put(("cases", (cases, m.seconds, m.memo.hits)))
            restored.wait()
            done.put(("again", m.clean_report()))
    except BaseException:
        done.put(("error", traceback.format_exc()))


@dataclass
class Matrix:
    """The clean tables of a mirrored data folder, which files each table read, and the clean report."""

    mirror: Mirror
    memo: Memo
    clean: dict[str, Part]
    reads: dict[str, frozenset[str]]
    baseline: str
    histories: dict[Hashable, Any]  # the clean origin's prepared histories
    history_reads: dict[Hashable, frozenset[str]]
    seconds: dict[str, float] = field(default_factory=dict)  # per file, its cases
    again: list[str] = field(default_factory=list)  # per process, the clean report after its cases (`all_cases`)
    helpers: Helpers | None = field(default=None, repr=False)

    @classmethod
    def prepare(cls, data: Path, tmp: Path, mp: pytest.MonkeyPatch, workers: int = WORKERS) -> Matrix:
        """Mirror `data` under `tmp`, start `workers` - 1 `Helpers` (they prepare as this process does), memoize
        the importers (`mp` undoes it) and load every table once."""
        mirror = Mirror.build(data, tmp / "data")
        helpers = Helpers.start(mirror, workers - 1) if workers > 1 else None
        try:
            return replace(cls.load(mirror, mp), helpers=helpers)
        except BaseException:
            if helpers is not None:
                helpers.stop()
            raise

    @classmethod
    def load(cls, mirror: Mirror, mp: pytest.MonkeyPatch) -> Matrix:
        """The clean state of `mirror` (`prepare`), in this process."""
        memo = Memo()
        install_memo(mp, memo)
        clean_parts: dict[str, Part] = {}
        reads: dict[str, frozenset[str]] = {}
        for table in recorded.table_loaders({}, None):
            with recording() as deps:
                clean_parts |= recorded.load_tables(mirror.root, tables=[table])
            reads[table] = frozenset(deps)
        snap = recorded.snapshot_of(clean_parts)
        text, internal = render(snap)
        assert not internal, internal
        assert snap.origin is not None
        reuse_validated(mp, {k: (clean_parts[k][0], df) for k, df in snap.origin.tables.items()})
        histories = dict(snap.origin._cache)
        return cls(mirror, memo, clean_parts, reads, text, histories, derived_reads(snap.origin))

    def snapshot(self, parts: dict[str, Part], changed: list[str]) -> Snapshot:
        """`recorded.snapshot_of(parts)`, its origin given the clean histories that read no `changed` table
        (a history is a pure function of the tables it reads: `Derived`), so only the others are prepared
        again."""
        snap = recorded.snapshot_of(parts)
        for key, value in self.histories.items():
            if not self.history_reads[key] & set(changed):
                snap.origin._cache.setdefault(key, value)
        return snap

    def files(self) -> dict[str, list[str]]:
        """One recorded file per importer, in the order the tables load: file -> importers. Of an importer's
        files, the smallest one the report reads near its as-of (`recent`), else the largest."""
        root = str(self.mirror.root) + os.sep
        order = {p: i for i, deps in enumerate(self.reads.values()) for p in sorted(deps, reverse=True)}
        out: dict[str, list[str]] = {}
        for name, paths in sorted(self.memo.calls.items()):
            mine = sorted((p for p in paths if p.startswith(root) and os.path.isfile(p)), key=os.path.getsize)
            if mine:
                out.setdefault(next((p for p in mine if recent(Path(p))), mine[-1]), []).append(name)
        return {os.path.relpath(p, self.mirror.root): v for p, v in sorted(out.items(), key=lambda kv: order[kv[0]])}

    def run(self, rel: str, importers: str, mutation: str, make: Make) -> Case:
        """`rel` corrupted by `make`, through the report; classified (module docstring)."""
        path = os.path.abspath(self.mirror.root / rel)
        tables = [t for t, deps in self.reads.items() if path in deps]
        with self.mirror.replaced(rel, make):
            try:
                new = recorded.load_tables(self.mirror.root, tables=tables)
                if all(self._same(t, new.get(t)) for t in tables):
                    return Case(rel, importers, mutation, "unchanged", "tables as read are the clean ones", make)
                parts = {k: v for k, v in self.clean.items() if k not in tables} | new
                text, internal = render(self.snapshot(parts, tables))
            except CapitulationError as exc:
                msg = one_line(str(exc))
                kind = "clean error" if Path(rel).name in msg else "unclear error"
                return Case(rel, importers, mutation, kind, msg, make)
            except Exception as exc:  # the class the matrix exists to find
                detail = f"{type(exc).__name__}: {one_line(str(exc))}{_where(exc)}"
                return Case(rel, importers, mutation, "traceback", detail, make)
        if internal:
            return Case(rel, importers, mutation, "traceback", "; ".join(internal), make)
        return Case(rel, importers, mutation, *self._compare(text), make)

    def _same(self, table: str, part: Part | None) -> bool:
        old = self.clean.get(table)
        if old is None or part is None:
            return old is None and part is None
        return part[1] == old[1] and part[0].equals(old[0]) and list(part[0].dtypes) == list(old[0].dtypes)

    def _compare(self, text: str) -> tuple[str, str]:
        if text == self.baseline:
            return "unchanged", "the clean JSON"
        base, got = dict(_leaves(json.loads(self.baseline))), dict(_leaves(json.loads(text)))
        diff = [k for k in dict.fromkeys([*base, *got]) if base.get(k, ...) != got.get(k, ...)]
        shown = "; ".join(f"{k}: {base.get(k, '-')!r} -> {got.get(k, '-')!r}"[:160] for k in diff[:3])
        said = _clauses(got.values()) - _clauses(base.values())
        flags = [v for v in said if FLAG.search(v)]
        if flags:
            return "flagged", f"{one_line(min(flags, key=len))[:200]} ({len(diff)} value(s) differ)"
        return "changed silently", f"{len(diff)} value(s) differ: {shown}"

    def cases(self, files: dict[str, list[str]] | None = None) -> Iterator[Case]:
        """Every mutation of every file (`files`: file -> importers, default `files()`), in this process."""
        for rel, importers in (self.files() if files is None else files).items():
            t0 = time.perf_counter()
            source = self.mirror.source / rel
            data = source.read_bytes()
            for name, make in mutations(data, READERS[source.suffix](data)).items():
                if make is not None:
                    case = self.run(rel, ", ".join(importers), name, make)
                    yield replace(case, make=functools.partial(remade, source, name))
            self.seconds[rel] = time.perf_counter() - t0

    def groups(self, files: list[str]) -> list[list[str]]:
        """`files` in groups no table reads across: a table reads files of one group only (or is given the
        folder of one), so workers that take whole groups never corrupt a file the other's tables read."""

        def feeds(rel: str) -> set[str]:
            path = os.path.abspath(self.mirror.root / rel)
            return {t for t, deps in self.reads.items() for d in deps if path == d or path.startswith(d + os.sep)}

        tables = {rel: feeds(rel) for rel in files}
        out: list[list[str]] = []
        for rel in files:
            joined = [g for g in out if any(tables[rel] & tables[f] for f in g)]
            out = [g for g in out if g not in joined] + [[f for g in joined for f in g] + [rel]]
        return sorted(out, key=lambda g: (-len(g), files.index(g[0])))

    def all_cases(self) -> list[Case]:
        """`cases()` in that order, shared with the `Helpers` started by `prepare`: each process takes a
        `groups` at a time. Every process ends with the clean report rendered again once all are done
        (`again`: whether a case leaked into its clean state)."""
        files, helpers = self.files(), self.helpers
        if helpers is None:
            cases = list(self.cases(files))
            self.again = [self.clean_report()]
            return cases
        self.helpers = None
        try:
            helpers.receive("ready")
            for group in self.groups(list(files)):
                helpers.todo.put({rel: files[rel] for rel in group})
            for _ in range(len(helpers.procs) + 1):
                helpers.todo.put(None)
            cases = self.take(helpers.todo)
            for theirs, seconds, hits in helpers.receive("cases"):
                cases += theirs
                self.seconds |= seconds
                self.memo.hits += hits
            self.again = [self.clean_report()]
            helpers.restored.set()
            self.again += helpers.receive("again")
        finally:
            helpers.stop()
        order = {rel: i for i, rel in enumerate(files)}
        return sorted(cases, key=lambda c: order[c.file])  # stable: a file's cases keep their order

    def take(self, todo: Any) -> list[Case]:
        """The cases of each group of files (file -> importers) taken from `todo` until None."""
        return [c for group in iter(todo.get, None) for c in self.cases(group)]

    def clean_report(self) -> str:
        """The clean data folder's report again (every table loaded through the memoized importers)."""
        return render(recorded.snapshot_of(recorded.load_tables(self.mirror.root)))[0]


def summary(cases: list[Case]) -> str:
    """Counts per class, per file, and every case that is not a clean error, unchanged or flagged."""
    counts = Counter(c.cls for c in cases)
    lines = [f"bad-input matrix: {len(cases)} cases, {len({c.file for c in cases})} files"]
    lines += [f"  {k:<17} {counts[k]:>4}" for k in CLASSES]
    lines.append("per file: " + " / ".join(CLASSES))
    for f in dict.fromkeys(c.file for c in cases):
        per = Counter(c.cls for c in cases if c.file == f)
        lines.append(f"  {f:<58} " + " ".join(f"{per[k]:>3}" for k in CLASSES))
    for k in ("traceback", "unclear error", "changed silently", "flagged"):
        bad = [c for c in cases if c.cls == k]
        if bad:
            lines.append(f"{k}:")
            lines += [f"  {c.file} [{c.mutation}]: {c.detail}" for c in bad]
    return "\n".join(lines)


def main() -> None:
    import tempfile

    data = (Path(__file__).parents[1] / "../shared/data").resolve()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        m = Matrix.prepare(data, Path(tmp), mp)
        cases = m.all_cases()
    assert set(m.again) == {m.baseline}, "a case leaked into a worker's clean state"
    print(summary(cases))
    print("seconds per file: " + ", ".join(f"{Path(k).name} {v:.1f}" for k, v in m.seconds.items()))
    print(f"{time.perf_counter() - t0:.1f} s; {m.memo.hits} importer calls answered from memory")


if __name__ == "__main__":
    main()
