"""History store: an append-only Parquet dataset queried with DuckDB.

Layout under the store root (hive partitions, one file per (table, as_of, content)):

    table=<name>/as_of_date=<YYYY-MM-DD>/<key>.parquet             rows of a standard table + `snapshot_as_of`
    table=_snapshots/as_of_date=<YYYY-MM-DD>/<key>-<sha>.parquet   one commit record per stored table
    table=_sources/as_of_date=<YYYY-MM-DD>/<key>-<sha>.parquet     the status of each live source asked (ok / stale)
    table=_verdicts/as_of_date=<YYYY-MM-DD>/<key>-<sha>.parquet    the eight verdicts of a run
    table=_backfill/as_of_date=<YYYY-MM-DD>/<key>-<sha>.parquet    `capitulation backfill` metrics, one file per day
    table=_alerts/as_of_date=<YYYY-MM-DD>/<key>-<sha>.parquet      one `watch --notify` alert (what changed), one
                                                                   file per alert key: stored once
    table=_alert_deliveries/as_of_date=<...>/<key>-<sha>.parquet   delivery states of alerts per destination
                                                                   (queued / delivered / failed / expired), one
                                                                   file per batch; the latest per pair wins
    table=_backtest/run=<run key>/<key>-<sha>.parquet              `capitulation backtest` timeline rows, one file
                                                                   per chunk of dates (a run resumes from them)
    table=_backtest_runs/run=<run key>/<key>-<sha>.parquet         what a backtest run is (`WALK_FORWARD`, or
                                                                   thresholds fitted before a split), one per label
    _quarantine/<tag>-<file's path, / as ~> (+ .json: why)         files that failed their check, moved aside

Writing: every file is written under a temporary name, fsynced and renamed (atomic on POSIX), so a crash never
leaves a half file under a final name. A snapshot is committed by its `_snapshots` records, written last: each
names one table file with its SHA-256 and size, and table files no record names are invisible to readers. A
table's key hashes (table, as_of, its content), so the same data is stored once however it was reached (two
spellings of one path, a copy of the file); at one as_of, the table written last wins.

Integrity: every file that no record names carries the SHA-256 of its bytes in its name (`<sha>` above). Reads
check both kinds; a file that fails (truncated, changed bytes, unreadable) is moved to `_quarantine/` with the
reason, `history()` names the snapshot it damaged, and every other snapshot stays readable and writable (a
later write of the same data repairs it). Files written before checksums (`<key>.parquet` outside table files,
records without `sha256`) are read unchecked.

Cleaning, on each snapshot write: `.tmp` files and table files that no commit record names, once older than
`GRACE` (far longer than a writer takes from its first temporary file to its commit), are removed (`.tmp`,
never data) or quarantined (uncommitted tables: a killed writer's, or a damaged commit record's); a running
writer's younger files are never touched. Many processes may read while one writes (no database file is held
open). A store is a folder holding only `table=*` folders and `_quarantine`; anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import duckdb
import pandas as pd

from capitulation import tables
from capitulation.errors import StoreError
from capitulation.snapshot import Provenance, Snapshot, SourceStatus, parse_as_of, utc
from capitulation.store_files import default_root, partition
from capitulation.verdict import Verdict

log = logging.getLogger(__name__)

SNAPSHOTS = "_snapshots"
SOURCES = "_sources"
VERDICTS = "_verdicts"
BACKFILL = "_backfill"
BACKTEST = "_backtest"
BACKTEST_RUNS = "_backtest_runs"
ALERTS = "_alerts"
DELIVERIES = "_alert_deliveries"
WALK_FORWARD = "walk-forward"  # a backtest run whose dates each learn their thresholds from their own past, as `report`
QUARANTINE = "_quarantine"
LATEST = "epoch_us(state_at) * 4 + CASE WHEN state <> 'queued' THEN 2 WHEN tries > 0 THEN 1 ELSE 0 END"
"""Which delivery state of an alert at a destination is its latest: the last by `state_at`, and at one instant a
final state (delivered / failed / expired) over a tried queued one over the first queued one."""
GRACE_S = 3600.0
"""Seconds after which a `.tmp` or uncommitted table file is a dead writer's: a write stages and commits in seconds."""

FILES = "read_parquet($files, union_by_name=true, hive_partitioning=false)"
"""The view every query reads: the checked files passed as parameter `$files`."""
ROWS_IN_ORDER = (
    "(SELECT * EXCLUDE (filename, file_row_number), row_number() OVER (ORDER BY filename, file_row_number) "
    "AS position FROM read_parquet($files, union_by_name=true, hive_partitioning=false, filename=true, "
    "file_row_number=true))"
)
"""`FILES` with each row's `position` in the files' own order (a window function such as QUALIFY loses that
order; `ORDER BY position` restores it, e.g. the live sources in the order they were asked)."""
_SIGNED = re.compile(r"-(?P<sha>[0-9a-f]{64})\.parquet$")
_RECORD_COLUMNS = ("file", "sha256", "bytes")  # absent from records written before checksums


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _content_key(name: str, as_of: pd.Timestamp, df: pd.DataFrame) -> str:
    """The key of table `name` at `as_of` holding `df`: a hash of its columns, dtypes and every row's values."""
    h = hashlib.sha256("\x1f".join([name, as_of.isoformat(), *map(str, df.columns), *map(str, df.dtypes)]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:24]


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _age_s(path: Path) -> float:
    """Seconds since `path` was last written (0 when it is gone: another process cleaned it)."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def one_line(exc: BaseException) -> str:
    """An error's message on one line, without DuckDB's echoed query and caret lines."""
    lines = (ln.strip() for ln in str(exc).splitlines())
    return " ".join(ln for ln in lines if ln and not ln.startswith("LINE ") and set(ln) != {"^"})


def _where(**tests: tuple[str, object]) -> tuple[str, dict[str, object]]:
    """A ' WHERE ...' clause joining (with AND) the SQL tests whose value is not None, and those values by name
    (each test reads its value as `$name`); ('', {}) when every value is None."""
    bound = {name: value for name, (_, value) in tests.items() if value is not None}
    return (" WHERE " + " AND ".join(tests[name][0] for name in bound) if bound else ""), bound


def _check_root(root: Path) -> None:
    """Refuse a `root` that is a file, or a folder holding anything but a store's folders (dotfiles aside)."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root} is a file, not a history store folder")
    if root.is_dir():
        odd = sorted(
            p.name
            for p in root.iterdir()
            if not p.name.startswith(".") and not (p.is_dir() and (p.name.startswith("table=") or p.name == QUARANTINE))
        )
        if odd:
            more = f" and {len(odd) - 1} more" if len(odd) > 1 else ""
            raise StoreError(
                f"{root} is not a history store: it holds {odd[0]!r}{more} (a store holds table=* folders)"
            )


class HistoryStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        _check_root(self.root)
        self._verified: dict[Path, tuple[int, int, int]] = {}  # files whose checksum passed, by (inode, size, mtime)

    def _dir(self, table: str, as_of: pd.Timestamp) -> Path:
        return partition(self.root, table, f"{as_of:%Y-%m-%d}")

    # -- writing -------------------------------------------------------------------------------------------------

    def _write_atomic(self, df: pd.DataFrame, folder: Path, stem: str, *, signed: bool = True) -> tuple[Path, str]:
        """Write `df` to `folder/<stem>-<sha>.parquet` (`<stem>.parquet` when not `signed`) through a temporary
        file; returns the path and the SHA-256 of its bytes."""
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{stem}.{uuid.uuid4().hex}.tmp"
        try:
            df.to_parquet(tmp, index=False)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
                sha = hashlib.file_digest(fh, "sha256").hexdigest()
            dest = folder / (f"{stem}-{sha}.parquet" if signed else f"{stem}.parquet")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest, sha

    def _write_once(self, df: pd.DataFrame, folder: Path, stem: str) -> bool:
        """Write `df` as `folder/<stem>-<sha>.parquet` unless a file of that stem exists; True when written."""
        if (folder / f"{stem}.parquet").exists() or any(folder.glob(f"{stem}-*.parquet")):
            return False
        try:
            self._write_atomic(df, folder, stem)
        except OSError as exc:
            raise StoreError(f"cannot write history store at {self.root}: {exc}") from None
        return True

    def _clean(self, committed: set[str]) -> None:
        """Delete `.tmp` files and quarantine table files not in `committed` (paths relative to the root), each
        only once older than `GRACE_S` (a running writer's files are younger)."""
        for path in self.root.glob("table=*/*/.*.tmp"):
            if _age_s(path) > GRACE_S:
                path.unlink(missing_ok=True)
        for path in self.root.glob("table=[!_]*/*/*.parquet"):
            if path.relative_to(self.root).as_posix() not in committed and _age_s(path) > GRACE_S:
                self._quarantine(
                    path,
                    "uncommitted: no commit record names it (its writer stopped before committing, "
                    "or its commit record was damaged)",
                )

    def write(self, snap: Snapshot) -> int:
        """Store every table of `snap` not stored intact yet (same table, as_of and content), then commit them;
        returns the number of tables newly written (0 if all known). Cleans dead writers' files first."""
        try:
            recs = self._records(latest=False)
            self._clean(set(recs["file"]))
            staged: list[dict[str, object]] = []
            for name, df in snap.tables.items():
                key = _content_key(name, snap.as_of, df)
                mine = recs[recs["key"] == key]
                if not mine.empty and not self._faults(mine.sort_values("written_at").tail(1)):
                    continue
                path, sha = self._write_atomic(
                    df.assign(snapshot_as_of=snap.as_of), self._dir(name, snap.as_of), key, signed=False
                )
                staged.append(
                    {
                        "key": key,
                        "snapshot_as_of": snap.as_of,
                        "table_name": name,
                        "rows": len(df),
                        "provenance": json.dumps(asdict(snap.provenance[name])),
                        "file": path.relative_to(self.root).as_posix(),
                        "sha256": sha,
                        "bytes": path.stat().st_size,
                    }
                )
            if snap.sources:
                status = pd.DataFrame([asdict(st) for st in snap.sources]).assign(snapshot_as_of=snap.as_of)
                key = _key(SOURCES, snap.as_of.isoformat(), json.dumps([asdict(st) for st in snap.sources]))
                self._write_once(status, self._dir(SOURCES, snap.as_of), key)
            if staged:
                now = pd.Timestamp.now(tz="UTC")
                records = pd.DataFrame(staged).assign(written_at=now)
                commit = _key(SNAPSHOTS, snap.as_of.isoformat(), now.isoformat(), *records["key"])
                self._write_atomic(records, self._dir(SNAPSHOTS, snap.as_of), commit)
        except OSError as exc:
            raise StoreError(f"cannot write history store at {self.root}: {exc}") from None
        return len(staged)

    def write_verdicts(self, verdicts: Iterable[Verdict]) -> None:
        """Store one run's verdicts (idempotent on as_of and content)."""
        rows = [
            {
                "snapshot_as_of": v.as_of,
                "signal": v.signal,
                "status": v.status.value,
                "headline": v.headline,
                "verdict_json": json.dumps(v.as_dict()),
            }
            for v in verdicts
        ]
        if rows:
            df = pd.DataFrame(rows)
            self._write_once(df, self._dir(VERDICTS, df["snapshot_as_of"].iloc[0]), _key(VERDICTS, *df["verdict_json"]))

    def write_backfill(self, metrics: pd.DataFrame, source: str) -> int:
        """Store backfill metrics (one row per snapshot `timestamp`, UTC) one file per UTC day, tagged with the
        input `source`; idempotent on (source, day, content). Returns the number of days newly written."""
        written = 0
        for day, rows in metrics.groupby(metrics["timestamp"].dt.floor("D"), sort=True):
            digest = str(pd.util.hash_pandas_object(rows, index=False).sum())
            written += self._write_once(
                rows.assign(source=source, written_at=pd.Timestamp.now(tz="UTC")),
                self._dir(BACKFILL, day),
                _key(BACKFILL, source, day.isoformat(), digest),
            )
        return written

    def write_backtest(self, run: str, rows: pd.DataFrame) -> None:
        """Store one chunk of a backtest's timeline rows under its run key (idempotent on content)."""
        if not rows.empty:
            digest = str(pd.util.hash_pandas_object(rows, index=False).sum())
            self._write_once(rows, self.root / f"table={BACKTEST}" / f"run={run}", _key(BACKTEST, run, digest))

    def label_backtest(self, run: str, kind: str) -> None:
        """Record what backtest run `run` is: `WALK_FORWARD`, or e.g. 'fitted before 2024-01-01' (the timeline
        with thresholds fixed at a split); the label written last wins."""
        rec = pd.DataFrame({"run": [run], "kind": [kind], "labelled_at": [pd.Timestamp.now(tz="UTC")]})
        try:
            self._write_atomic(rec, self.root / f"table={BACKTEST_RUNS}" / f"run={run}", _key(BACKTEST_RUNS, run, kind))
        except OSError as exc:
            raise StoreError(f"cannot write history store at {self.root}: {exc}") from None

    def write_alerts(self, alerts: pd.DataFrame) -> list[str]:
        """Store each alert (one row per `key`, with its `as_of`, UTC, and `seq`: its place among the alerts of
        that as_of) not stored yet; returns the keys newly
        written (a key already stored, e.g. by a `watch` killed after detecting it, is not written again)."""
        return [
            str(row["key"].iloc[0])
            for _, row in alerts.groupby("key", sort=False)
            if self._write_once(row, self._dir(ALERTS, row["as_of"].iloc[0]), _key(ALERTS, str(row["key"].iloc[0])))
        ]

    def write_deliveries(self, states: pd.DataFrame) -> None:
        """Append delivery states: one row per (alert `key`, `destination`) with `state` (queued, delivered,
        failed, expired), `reason`, `tries` (requests made for it in this cycle) and `state_at` (UTC)."""
        if states.empty:
            return
        at = states["state_at"].max()
        digest = str(pd.util.hash_pandas_object(states, index=False).sum())
        self._write_once(states, self._dir(DELIVERIES, at), _key(DELIVERIES, at.isoformat(), digest))

    # -- checking ------------------------------------------------------------------------------------------------

    def _fault(self, path: Path, sha: str | None, size: int | None = None) -> str | None:
        """Why `path` fails its check against SHA-256 `sha` and byte count `size`: 'missing', its size, or its
        digest; None when it passes or has no checksum to pass (a file written before checksums)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return "missing"
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if sha is None or self._verified.get(path) == stamp:
            return None
        if size is not None and st.st_size != size:
            return f"{st.st_size:,} bytes where {size:,} were written (truncated or overwritten)"
        if _sha256(path) != sha:
            return "its bytes changed since written (SHA-256 differs)"
        self._verified[path] = stamp
        return None

    def _quarantine(self, path: Path, reason: str) -> None:
        """Move `path` to `_quarantine/` beside a JSON note of `reason` (nothing if another process moved it)."""
        rel = path.relative_to(self.root).as_posix()
        qdir = self.root / QUARANTINE
        qdir.mkdir(exist_ok=True)
        dest = qdir / f"{uuid.uuid4().hex[:8]}-{rel.replace('/', '~')}"
        try:
            os.replace(path, dest)
        except FileNotFoundError:
            return
        note = {"file": rel, "reason": reason, "moved_to": dest.name, "at": pd.Timestamp.now(tz="UTC").isoformat()}
        tmp = qdir / f".{dest.name}.tmp"
        tmp.write_text(json.dumps(note))
        os.replace(tmp, dest.with_name(dest.name + ".json"))
        log.warning("history store %s: %s %s; moved to %s", self.root, rel, reason, dest)

    def damage(self) -> pd.DataFrame:
        """Every file moved to quarantine, oldest first: file (its path in the store), reason, moved_to (where it
        is now) and at (UTC ISO)."""
        qdir = self.root / QUARANTINE
        notes = [json.loads(p.read_text()) for p in qdir.glob("*.json")]
        out = pd.DataFrame(notes, columns=["file", "reason", "moved_to", "at"]).sort_values("at", ignore_index=True)
        return out.assign(moved_to=[str(qdir / n) for n in out["moved_to"]])

    def _intact(self, folder: Path, pattern: str) -> list[str]:
        """The files under `folder` matching `pattern` whose name's checksum holds (or that carry none); those
        that fail are quarantined."""
        out = []
        for path in sorted(folder.glob(pattern)):
            m = _SIGNED.search(path.name)
            fault = None if m is None else self._fault(path, m["sha"])
            if fault is None:
                out.append(str(path))
            elif fault != "missing":
                self._quarantine(path, fault)
        return out

    def _faults(self, recs: pd.DataFrame) -> dict[str, str]:
        """For each commit record in `recs` whose table file fails its check: key -> 'table: why' (the file is
        quarantined; one quarantined earlier is reported with the reason noted then)."""
        out: dict[str, str] = {}
        notes: pd.DataFrame | None = None
        for rec in recs.itertuples():
            fault = self._fault(self.root / rec.file, rec.sha256, None if rec.bytes is None else int(rec.bytes))
            if fault == "missing":
                notes = self.damage() if notes is None else notes
                hit = notes[notes["file"] == rec.file]
                fault = f"{hit['reason'].iloc[-1]}; moved to {QUARANTINE}/" if len(hit) else "its file is missing"
            elif fault is not None:
                self._quarantine(self.root / rec.file, fault)
                fault = f"{fault}; moved to {QUARANTINE}/"
            if fault is not None:
                out[rec.key] = f"{rec.table_name} ({rec.file}): {fault}"
        return out

    # -- reading -------------------------------------------------------------------------------------------------

    def _query(self, sql: str, files: list[str], what: str, **params: object) -> pd.DataFrame:
        """DuckDB `sql` with parameters `$files` (Parquet files) and `params`; empty frame when no file."""
        if not files:
            return pd.DataFrame()
        con = duckdb.connect()
        try:
            return con.execute(sql, {"files": files, **params}).df()
        except duckdb.Error as exc:
            raise StoreError(f"cannot read {what} in the history store at {self.root}: {one_line(exc)}") from None
        finally:
            con.close()

    def _records(
        self, *, latest: bool = True, day: pd.Timestamp | None = None, since: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """The commit records whose files pass their check (the `day` partition only when given; `since`: as_of
        at or after), each with `file`, `sha256` and `bytes` (None for records written before checksums);
        `latest`: only the one written last per (as_of, table)."""
        folder, pattern = (self.root / f"table={SNAPSHOTS}", "*/*.parquet")
        if day is not None:
            folder, pattern = self._dir(SNAPSHOTS, day), "*.parquet"
        where, bound = _where(day=("snapshot_as_of = $day", day), since=("snapshot_as_of >= $since", since))
        recs = self._query(
            f"SELECT * FROM {FILES}{where}"
            + (
                " QUALIFY row_number() OVER (PARTITION BY snapshot_as_of, table_name ORDER BY written_at DESC) = 1"
                if latest
                else ""
            )
            + " ORDER BY snapshot_as_of, table_name",
            self._intact(folder, pattern),
            "the commit records",
            **bound,
        )
        if recs.empty:
            return pd.DataFrame(columns=["key", "snapshot_as_of", "table_name", "rows", "written_at", *_RECORD_COLUMNS])
        recs = recs.assign(
            snapshot_as_of=pd.to_datetime(recs["snapshot_as_of"], utc=True),
            **{c: [None if pd.isna(v) else v for v in recs[c]] if c in recs else None for c in _RECORD_COLUMNS},
        )
        old = recs["file"].isna()
        recs.loc[old, "file"] = [
            f"table={r.table_name}/as_of_date={r.snapshot_as_of:%Y-%m-%d}/{r.key}.parquet"
            for r in recs[old].itertuples()
        ]
        return recs

    def history(self, since: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """One row per stored snapshot (at or after `since` when given): as_of, number of tables, total rows,
        table names, the live sources that were stale (comma-separated; empty when none was, or the snapshot came
        from recorded files), and `damaged`: why its damaged tables fail their check (empty when intact)."""
        recs = self._records(since=None if since is None else utc(since))
        columns = ["as_of", "tables", "rows", "table_names", "stale", "damaged"]
        if recs.empty:
            return pd.DataFrame(columns=columns)
        faults = self._faults(recs)
        recs = recs.assign(damaged=[faults.get(k, "") for k in recs["key"]], rows=recs["rows"].astype("int64"))
        by = recs.groupby("snapshot_as_of", sort=True)
        out = (
            pd.DataFrame(
                {
                    "tables": by.size(),
                    "rows": by["rows"].sum(),
                    "table_names": by["table_name"].agg(", ".join),
                    "damaged": by["damaged"].agg(lambda d: "; ".join(x for x in d if x)),
                }
            )
            .rename_axis("as_of")
            .reset_index()
        )
        stale = self._query(
            f"SELECT DISTINCT snapshot_as_of AS as_of, name FROM {FILES} WHERE state <> 'ok'",
            self._intact(self.root / f"table={SOURCES}", "*/*.parquet"),
            "the source states",
        )
        stale = stale.assign(as_of=pd.to_datetime(stale["as_of"], utc=True)) if not stale.empty else stale
        names = {} if stale.empty else stale.groupby("as_of")["name"].agg(lambda n: ", ".join(sorted(n))).to_dict()
        return out.assign(stale=[names.get(t, "") for t in out["as_of"]])[columns]

    def verdict_history(self, signal: str | None = None, since: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Each stored verdict (one per as_of and signal; only `signal`'s, at or after `since`, when given), oldest
        first, with its key metric: the first one the signal lists (name, value, unit; None when it gave none)."""
        where, bound = _where(
            signal=("signal = $signal", signal),
            since=("snapshot_as_of >= $since", None if since is None else utc(since)),
        )
        return self._query(
            "SELECT snapshot_as_of AS as_of, signal, status, headline, "
            "json_extract_string(verdict_json, '$.metrics[0].name') AS key_metric, "
            "TRY_CAST(json_extract_string(verdict_json, '$.metrics[0].value') AS DOUBLE) AS key_value, "
            f"json_extract_string(verdict_json, '$.metrics[0].unit') AS key_unit FROM {FILES}{where} "
            "QUALIFY row_number() OVER (PARTITION BY snapshot_as_of, signal ORDER BY headline) = 1 "
            "ORDER BY as_of, signal",
            self._intact(self.root / f"table={VERDICTS}", "*/*.parquet"),
            "the verdicts",
            **bound,
        )

    def last_verdicts(self, before: pd.Timestamp) -> pd.DataFrame:
        """The verdicts (signal, status, verdict_json) of the latest run stored before `before` (UTC), with its
        `as_of`; empty when none. Reads the day partitions newest first and stops at the first that has one."""
        folder = self.root / f"table={VERDICTS}"
        days = sorted((p for p in folder.glob("as_of_date=*") if p.name[11:] <= f"{before:%Y-%m-%d}"), reverse=True)
        for day in days:
            out = self._query(
                f"SELECT snapshot_as_of AS as_of, signal, status, verdict_json FROM {FILES} "
                "WHERE snapshot_as_of < $before "
                "QUALIFY dense_rank() OVER (ORDER BY snapshot_as_of DESC) = 1 "
                "AND row_number() OVER (PARTITION BY snapshot_as_of, signal ORDER BY headline) = 1",
                self._intact(day, "*.parquet"),
                "the verdicts",
                before=before,
            )
            if not out.empty:
                return out.assign(as_of=pd.to_datetime(out["as_of"], utc=True))
        return pd.DataFrame(columns=["as_of", "signal", "status", "verdict_json"])

    def alerts(self, since: str | pd.Timestamp | None = None) -> pd.DataFrame:
        """Each stored alert (as_of at or after `since` when given) with each destination's latest delivery
        state, oldest first: the alert's columns (`store.write_alerts`), then destination, state, reason,
        tries (requests made in all) and state_at (UTC). An alert with no delivery row has them null."""
        alerts = self._intact(self.root / f"table={ALERTS}", "*/*.parquet")
        deliveries = self._intact(self.root / f"table={DELIVERIES}", "*/*.parquet")
        if not alerts:
            return pd.DataFrame()
        where, bound = _where(since=("a.as_of >= $since", None if since is None else utc(since)))
        states = (
            f"(SELECT key, destination, arg_max(state, {LATEST}) AS state, arg_max(reason, {LATEST}) AS reason, "
            "sum(tries) AS tries, max(state_at) AS state_at FROM read_parquet($deliveries, union_by_name=true, "
            "hive_partitioning=false) GROUP BY key, destination)"
            if deliveries
            else "(SELECT NULL AS key, NULL AS destination, NULL AS state, NULL AS reason, NULL AS tries, "
            "NULL AS state_at)"
        )
        out = self._query(
            f"SELECT a.* EXCLUDE (seq), d.destination, d.state, d.reason, d.tries, d.state_at FROM {FILES} a "
            f"LEFT JOIN {states} d ON a.key = d.key{where} ORDER BY a.as_of, a.seq, d.destination",
            alerts,
            "the alerts",
            **({"deliveries": deliveries} if deliveries else {}),
            **bound,
        )
        for c in ("as_of", "previous_as_of", "state_at"):
            out[c] = pd.to_datetime(out[c], utc=True)
        return out

    def backfill_metrics(self) -> pd.DataFrame:
        """The stored backfill metrics, one row per snapshot time (the latest written wins), oldest first."""
        out = self._query(
            f"SELECT * EXCLUDE (written_at) FROM {FILES} "
            "QUALIFY row_number() OVER (PARTITION BY timestamp ORDER BY written_at DESC) = 1 ORDER BY timestamp",
            self._intact(self.root / f"table={BACKFILL}", "*/*.parquet"),
            "the backfill metrics",
        )
        return out.assign(timestamp=pd.to_datetime(out["timestamp"], utc=True)) if not out.empty else out

    def backtest_timeline(self, run: str) -> pd.DataFrame:
        """The stored timeline rows of run `run` (one per as_of and signal), oldest first; empty if none."""
        out = self._query(
            f"SELECT * FROM {FILES} QUALIFY row_number() OVER (PARTITION BY as_of, signal) = 1 ORDER BY as_of",
            self._intact(self.root / f"table={BACKTEST}" / f"run={run}", "*.parquet"),
            f"the backtest {run}",
        )
        return out.assign(as_of=pd.to_datetime(out["as_of"], utc=True)) if not out.empty else out

    def backtest_runs(self) -> pd.DataFrame:
        """One row per stored backtest run, the latest written first: run, kind (its latest label; None when
        it has none), start and end (its first and last as_of, UTC), dates, and written_at (UTC: when its
        newest chunk file was written)."""
        columns = ["run", "kind", "start", "end", "dates", "written_at"]
        files = self._intact(self.root / f"table={BACKTEST}", "run=*/*.parquet")
        if not files:
            return pd.DataFrame(columns=columns)
        out = self._query(
            "SELECT run, min(as_of) AS start, max(as_of) AS end, count(DISTINCT as_of) AS dates "
            "FROM read_parquet($files, hive_partitioning=true, hive_types={'run': VARCHAR}) GROUP BY run",
            files,
            "the backtests",
        )
        labels = self._query(
            f"SELECT run, kind FROM {FILES} QUALIFY row_number() OVER (PARTITION BY run ORDER BY labelled_at DESC) = 1",
            self._intact(self.root / f"table={BACKTEST_RUNS}", "run=*/*.parquet"),
            "the backtest labels",
        )
        kinds = {} if labels.empty else dict(zip(labels["run"], labels["kind"], strict=True))
        newest: dict[str, float] = {}
        for f in map(Path, files):
            run = f.parent.name.removeprefix("run=")
            newest[run] = max(newest.get(run, 0.0), f.stat().st_mtime)
        out = out.assign(
            kind=pd.Series([kinds.get(r) for r in out["run"]], index=out.index, dtype=object),
            start=pd.to_datetime(out["start"], utc=True),
            end=pd.to_datetime(out["end"], utc=True),
            written_at=pd.to_datetime([newest[r] for r in out["run"]], unit="s", utc=True),
        )
        return out[columns].sort_values("written_at", ascending=False, ignore_index=True)

    def load(self, as_of: str | pd.Timestamp) -> Snapshot:
        """Rebuild the committed snapshot stored at exactly `as_of` (`parse_as_of`: a bare date is the end of that
        UTC day); `StoreError` naming the damage when one of its files fails its check."""
        cut = parse_as_of(as_of)
        if not any((self.root / f"table={SNAPSHOTS}").glob("*/*.parquet")):
            raise StoreError(f"history store at {self.root} is empty")
        recs = self._records(day=cut)
        if recs.empty:
            raise StoreError(f"no snapshot stored at {cut.isoformat()} in {self.root}")
        faults = self._faults(recs)
        if faults:
            raise StoreError(
                f"the snapshot at {cut.isoformat()} in {self.root} is damaged: {'; '.join(faults.values())}"
            )
        frames, prov = {}, {}
        for rec in recs.itertuples():
            try:
                df = pd.read_parquet(self.root / rec.file).drop(columns=["snapshot_as_of"])
            except (OSError, ValueError) as exc:  # a file written before checksums, unreadable
                raise StoreError(
                    f"cannot read {rec.file} in the history store at {self.root}: {one_line(exc)}"
                ) from None
            frames[rec.table_name] = df[tables.spec(rec.table_name).names]
            prov[rec.table_name] = Provenance(**json.loads(rec.provenance))
        status = self._query(
            f"SELECT * FROM {ROWS_IN_ORDER} WHERE snapshot_as_of = $day "
            "QUALIFY row_number() OVER (PARTITION BY name ORDER BY position) = 1 ORDER BY position",
            self._intact(self._dir(SOURCES, cut), "*.parquet"),
            "the source states",
            day=cut,
        )
        sources = tuple(SourceStatus(r.name, r.state, r.message, int(r.rows)) for r in status.itertuples())
        return Snapshot(cut, frames, prov, sources)
