"""Snapshot = the standard tables at one `as_of` time, plus the provenance of each table.

On disk a snapshot is a folder: `manifest.json` (as_of, provenance per table, the status of each live source
asked) and `<table>.parquet`.
Time-series tables hold their history up to `as_of`; `Snapshot.upto` cuts everything after a date so
the monitor can run as of any past date without look-ahead.

Prepare once, use many times: a history derived from the tables that is causal (its part known by a time t
depends only on rows known by t; a `Derived`) is computed once on the snapshot that `upto` cut from (its
`origin`) and cut at each as_of (`Snapshot.derived`), so replaying every day of the record does not
recompute each history from its start every day.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.timeutil import parse_as_of, utc

__all__ = ["Derived", "Provenance", "Snapshot", "SourceStatus", "cut_days", "cut_times", "parse_as_of", "utc"]

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Provenance:
    """Where a table came from: source (file or endpoint), retrieval time (UTC ISO), licence, notes, and
    `dropped_rows`: the bad rows the importer dropped under the row policy (`tables`: option quotes only;
    the notes say which rule each broke)."""

    source: str
    retrieved_at: str
    licence: str = "unstated"
    notes: str = ""
    synthetic: bool = False
    dropped_rows: int = 0


@dataclass(frozen=True)
class SourceStatus:
    """How one live source's fetch went: 'ok' (its table is in the snapshot) or 'stale' (left out; `message`
    says why), with the rows it gave. `name` is the standard table the source fills."""

    name: str
    state: Literal["ok", "stale"]
    message: str = ""
    rows: int = 0


T = TypeVar("T")


@dataclass(frozen=True)
class Derived(Generic[T]):
    """A history derived from a snapshot's tables, prepared once per origin snapshot (`Snapshot.derived`).

    `compute(snapshot, *args)` must be causal: the part of its value known by any time t depends only on rows
    known by t; `cut(value, as_of)` keeps that part, so that cut(compute(s), t) == compute(s.upto(t)) bit for
    bit (tests/test_derived.py checks every use on the recorded data)."""

    name: str
    compute: Callable[..., T]
    cut: Callable[[T, pd.Timestamp], T]


def cut_days(obj: T, as_of: pd.Timestamp) -> T:
    """The rows of a Series / DataFrame indexed by ascending day (00:00 UTC, a daily bar) known at `as_of`:
    those whose day has ended by then (`tables.DAY_CLOSE`)."""
    return obj.iloc[: obj.index.searchsorted(as_of - tables.DAY_CLOSE, side="right")]  # type: ignore[attr-defined]


def cut_times(obj: T, as_of: pd.Timestamp) -> T:
    """The rows of a Series / DataFrame indexed by ascending time (an instant) at or before `as_of`."""
    return obj.iloc[: obj.index.searchsorted(as_of, side="right")]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Snapshot:
    """The tables known at `as_of`, each with its provenance; `sources`: the status of each live source asked
    (empty for a snapshot built from recorded files); `origin`: the snapshot `upto` cut this one from (its
    tables were validated there; `derived` histories are computed on it once), None for any other."""

    as_of: pd.Timestamp
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    provenance: Mapping[str, Provenance] = field(default_factory=dict)
    sources: tuple[SourceStatus, ...] = ()
    origin: Snapshot | None = field(default=None, repr=False, compare=False)
    _cache: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", parse_as_of(self.as_of))
        if self.origin is None:
            checked = {name: tables.validate(name, df) for name, df in self.tables.items()}
        else:
            checked = dict(self.tables)  # rows of the origin's validated tables
        missing = sorted(set(checked) - set(self.provenance))
        if missing:
            raise DataError(f"snapshot: table(s) without provenance: {', '.join(missing)}")
        object.__setattr__(self, "tables", checked)
        object.__setattr__(self, "provenance", {k: self.provenance[k] for k in checked})
        object.__setattr__(self, "sources", tuple(self.sources))

    def stale(self) -> list[str]:
        """The live sources asked that were left out of this snapshot."""
        return [s.name for s in self.sources if s.state != "ok"]

    def get(self, name: str) -> pd.DataFrame | None:
        """The table, or None when the snapshot has no (or an empty) table of that name."""
        tables.spec(name)
        df = self.tables.get(name)
        return None if df is None or df.empty else df

    def table_dates(self) -> dict[str, pd.Timestamp]:
        """Each table's own date: the latest time in its time column."""
        out = {}
        for name, df in self.tables.items():
            col = tables.spec(name).time_column
            if not df.empty:
                out[name] = df[col].max()
        return out

    def age_days(self, name: str) -> float | None:
        """The age of table `name` at as_of, in days from when its latest row became known
        (`tables.TableSpec.age_days`); None when the snapshot has no such table."""
        df = self.get(name)
        if df is None:
            return None
        spec = tables.spec(name)
        return spec.age_days(self.as_of, df[spec.time_column].max())

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its origin and prepared histories (a worker prepares its own)."""
        return {**self.__dict__, "origin": None, "_cache": {}}

    def _known_at(self, name: str) -> tuple[np.ndarray, bool]:
        """When each row of table `name` became known (ns since the epoch) and whether that is ascending."""
        key = ("known_at", name)
        if key not in self._cache:
            df = self.tables[name]
            known = tables.spec(name).known_at(df).to_numpy(dtype="datetime64[ns]").view("int64")
            self._cache[key] = (known, bool(len(known) < 2 or (np.diff(known) >= 0).all()))
        return self._cache[key]

    def upto(self, as_of: str | date | pd.Timestamp) -> Snapshot:
        """The snapshot as it could have been known at `as_of` (`parse_as_of`: a bare date is the end of
        that UTC day): rows not yet known dropped (a daily bar only from the last second of its day), empty
        tables removed. The result keeps the snapshot it was cut from as its `origin`."""
        cut = parse_as_of(as_of)
        stamp = cut.as_unit("ns").value
        kept: dict[str, pd.DataFrame] = {}
        for name, df in self.tables.items():
            known, ascending = self._known_at(name)
            if ascending:
                sub = df.iloc[: int(np.searchsorted(known, stamp, side="right"))]
            else:
                sub = df.take(np.flatnonzero(known <= stamp))
            if not sub.empty:
                kept[name] = sub.reset_index(drop=True)
        origin = self if self.origin is None or cut > self.as_of else self.origin
        return Snapshot(cut, kept, {k: self.provenance[k] for k in kept}, self.sources, origin)

    def derived(self, history: Derived[T], *args: Hashable) -> T:
        """`history.compute(snapshot, *args)` for this snapshot, computed once per snapshot: on a snapshot
        cut by `upto`, computed on its origin once and cut at as_of (the same value, `Derived`)."""
        key = (history, *args)
        if key not in self._cache:
            if self.origin is None:
                self._cache[key] = history.compute(self, *args)
            else:
                self._cache[key] = history.cut(self.origin.derived(history, *args), self.as_of)
        return self._cache[key]

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per snapshot under `key` (a snapshot's memo is its own, never its origin's): a figure
        of this as_of that several readers need, e.g. verdict 3's options summary, which the report and
        dashboard then draw. A reader may use its origin's memo for a figure of rows known at every cut that
        shares it, with a key naming those rows exactly and, second, the one table it reads (treasury's
        ("latest_rows", "treasury_companies", k): the latest rows of the first k publication times)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def save(self, path: str | Path) -> Path:
        """Write the snapshot folder atomically (written to a temporary folder, then renamed)."""
        dest = Path(path)
        if dest.exists():
            raise DataError(f"snapshot folder {dest} already exists; choose a new path")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        for name, df in self.tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        manifest = {
            "as_of": self.as_of.isoformat(),
            "provenance": {k: asdict(v) for k, v in self.provenance.items()},
            "sources": [asdict(st) for st in self.sources],
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, dest)
        return dest

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        """Read a snapshot folder written by `save`; `DataError` when it is missing or corrupt."""
        src = Path(path)
        man = src / MANIFEST
        if not man.is_file():
            raise DataError(f"no snapshot at {src}: {MANIFEST} not found")
        try:
            manifest = json.loads(man.read_text())
            as_of = manifest["as_of"]
            prov = {k: Provenance(**v) for k, v in manifest["provenance"].items()}
            sources = tuple(SourceStatus(**st) for st in manifest.get("sources", []))
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise DataError(f"corrupt snapshot manifest {man}: {exc}") from None
        frames = {}
        for name in prov:
            tables.spec(name)
            f = src / f"{name}.parquet"
            try:
                frames[name] = pd.read_parquet(f)
            except (OSError, ValueError) as exc:
                raise DataError(f"corrupt or missing table file {f}: {exc}") from None
        return cls(as_of, frames, prov, sources)
