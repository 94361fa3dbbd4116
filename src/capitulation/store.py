"""History store: an append-only Parquet dataset queried with DuckDB.

Layout under the store root (hive partitions, one file per (table, source, as_of)):

    table=<name>/as_of_date=<YYYY-MM-DD>/<key>.parquet    rows of a standard table + `snapshot_as_of`
    table=_snapshots/as_of_date=<YYYY-MM-DD>/<key>.parquet  one commit record per stored table
    table=_sources/as_of_date=<YYYY-MM-DD>/<key>.parquet    the status of each live source asked (ok / stale)
    table=_verdicts/as_of_date=<YYYY-MM-DD>/<key>.parquet   the eight verdicts of a run
    table=_backfill/as_of_date=<YYYY-MM-DD>/<key>.parquet   `capitulation backfill` metrics, one file per day
    table=_backtest/run=<run key>/<key>.parquet             `capitulation backtest` timeline rows, one file per
                                                            chunk of dates (a run resumes from them)
    table=_backtest_runs/run=<run key>/<key>.parquet        what a backtest run is (`WALK_FORWARD`, or thresholds
                                                            fitted before a split), one record per label

Every file is written under a temporary name and renamed (atomic on POSIX), so a crash never leaves a half
file. A snapshot is committed by its `_snapshots` records, written last: table files without a commit
record are invisible to readers. Writes are idempotent on (table, source, as_of): a key already
committed is skipped. Many processes may read while one writes (no database file is held open).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import duckdb
import pandas as pd
import platformdirs

from capitulation import tables
from capitulation.errors import StoreError
from capitulation.signals.base import Verdict
from capitulation.snapshot import Provenance, Snapshot, SourceStatus, parse_as_of

SNAPSHOTS = "_snapshots"
SOURCES = "_sources"
VERDICTS = "_verdicts"
BACKFILL = "_backfill"
BACKTEST = "_backtest"
BACKTEST_RUNS = "_backtest_runs"
WALK_FORWARD = "walk-forward"  # a backtest run whose dates each learn their thresholds from their own past, as `report`


def default_root() -> Path:
    """The platform's user data dir for capitulation (e.g. ~/.local/share/capitulation/history)."""
    return Path(platformdirs.user_data_dir("capitulation")) / "history"


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


class HistoryStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def _dir(self, table: str, as_of: pd.Timestamp) -> Path:
        return self.root / f"table={table}" / f"as_of_date={as_of:%Y-%m-%d}"

    def _write_atomic(self, df: pd.DataFrame, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            df.to_parquet(tmp, index=False)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _committed_keys(self) -> set[str]:
        recs = self._query_files(SNAPSHOTS, "SELECT key FROM t")
        return set(recs["key"]) if not recs.empty else set()

    def write(self, snap: Snapshot) -> int:
        """Store every table of `snap`; returns the number of tables newly written (0 if all known)."""
        try:
            known = self._committed_keys()
            staged: list[tuple[str, Provenance, int, Path]] = []
            for name, df in snap.tables.items():
                prov = snap.provenance[name]
                key = _key(name, prov.source, snap.as_of.isoformat())
                if key in known:
                    continue
                dest = self._dir(name, snap.as_of) / f"{key}.parquet"
                self._write_atomic(df.assign(snapshot_as_of=snap.as_of), dest)
                staged.append((name, prov, len(df), dest))
            if snap.sources:
                status = pd.DataFrame([asdict(st) for st in snap.sources]).assign(snapshot_as_of=snap.as_of)
                key = _key(SOURCES, snap.as_of.isoformat(), json.dumps([asdict(st) for st in snap.sources]))
                dest = self._dir(SOURCES, snap.as_of) / f"{key}.parquet"
                if not dest.exists():
                    self._write_atomic(status, dest)
            if staged:
                records = pd.DataFrame(
                    [
                        {
                            "key": dest.stem,
                            "snapshot_as_of": snap.as_of,
                            "table_name": name,
                            "rows": rows,
                            "provenance": json.dumps(asdict(prov)),
                            "written_at": pd.Timestamp.now(tz="UTC"),
                        }
                        for name, prov, rows, dest in staged
                    ]
                )
                commit = _key(SNAPSHOTS, snap.as_of.isoformat(), *records["key"])
                self._write_atomic(records, self._dir(SNAPSHOTS, snap.as_of) / f"{commit}.parquet")
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
        if not rows:
            return
        df = pd.DataFrame(rows)
        key = _key(VERDICTS, *df["verdict_json"])
        dest = self._dir(VERDICTS, df["snapshot_as_of"].iloc[0]) / f"{key}.parquet"
        if not dest.exists():
            try:
                self._write_atomic(df, dest)
            except OSError as exc:
                raise StoreError(f"cannot write history store at {self.root}: {exc}") from None

    def write_backfill(self, metrics: pd.DataFrame, source: str) -> int:
        """Store backfill metrics (one row per snapshot `timestamp`, UTC) one file per UTC day, tagged with the
        input `source`; idempotent on (source, day, content). Returns the number of days newly written."""
        written = 0
        try:
            for day, rows in metrics.groupby(metrics["timestamp"].dt.floor("D"), sort=True):
                digest = str(pd.util.hash_pandas_object(rows, index=False).sum())
                dest = self._dir(BACKFILL, day) / f"{_key(BACKFILL, source, day.isoformat(), digest)}.parquet"
                if dest.exists():
                    continue
                self._write_atomic(rows.assign(source=source, written_at=pd.Timestamp.now(tz="UTC")), dest)
                written += 1
        except OSError as exc:
            raise StoreError(f"cannot write history store at {self.root}: {exc}") from None
        return written

    def backfill_metrics(self) -> pd.DataFrame:
        """The stored backfill metrics, one row per snapshot time (the latest written wins), oldest first."""
        out = self._query_files(
            BACKFILL,
            "SELECT * EXCLUDE (written_at) FROM t "
            "QUALIFY row_number() OVER (PARTITION BY timestamp ORDER BY written_at DESC) = 1 ORDER BY timestamp",
        )
        return out.assign(timestamp=pd.to_datetime(out["timestamp"], utc=True)) if not out.empty else out

    def write_backtest(self, run: str, rows: pd.DataFrame) -> None:
        """Store one chunk of a backtest's timeline rows under its run key (idempotent on content)."""
        if rows.empty:
            return
        digest = str(pd.util.hash_pandas_object(rows, index=False).sum())
        dest = self.root / f"table={BACKTEST}" / f"run={run}" / f"{_key(BACKTEST, run, digest)}.parquet"
        if dest.exists():
            return
        try:
            self._write_atomic(rows, dest)
        except OSError as exc:
            raise StoreError(f"cannot write history store at {self.root}: {exc}") from None

    def backtest_timeline(self, run: str) -> pd.DataFrame:
        """The stored timeline rows of run `run` (one per as_of and signal), oldest first; empty if none."""
        folder = self.root / f"table={BACKTEST}" / f"run={run}"
        if not any(folder.glob("*.parquet")):
            return pd.DataFrame()
        out = self._sql(
            f"SELECT * FROM read_parquet('{_sql_str(str(folder / '*.parquet'))}', hive_partitioning=false) "
            "QUALIFY row_number() OVER (PARTITION BY as_of, signal) = 1 ORDER BY as_of",
            f"the backtest {run}",
        )
        return out.assign(as_of=pd.to_datetime(out["as_of"], utc=True))

    def label_backtest(self, run: str, kind: str) -> None:
        """Record what backtest run `run` is: `WALK_FORWARD`, or e.g. 'fitted before 2024-01-01' (the timeline
        with thresholds fixed at a split); the label written last wins."""
        rec = pd.DataFrame({"run": [run], "kind": [kind], "labelled_at": [pd.Timestamp.now(tz="UTC")]})
        dest = self.root / f"table={BACKTEST_RUNS}" / f"run={run}" / f"{_key(BACKTEST_RUNS, run, kind)}.parquet"
        try:
            self._write_atomic(rec, dest)
        except OSError as exc:
            raise StoreError(f"cannot write history store at {self.root}: {exc}") from None

    def backtest_runs(self) -> pd.DataFrame:
        """One row per stored backtest run, the latest written first: run, kind (its latest label; None when
        it has none), start and end (its first and last as_of, UTC), dates, and written_at (UTC: when its
        newest chunk file was written)."""
        columns = ["run", "kind", "start", "end", "dates", "written_at"]
        folder = self.root / f"table={BACKTEST}"
        if not any(folder.glob("run=*/*.parquet")):
            return pd.DataFrame(columns=columns)
        out = self._sql(
            f"SELECT run, min(as_of) AS start, max(as_of) AS end, count(DISTINCT as_of) AS dates "
            f"FROM read_parquet('{_sql_str(str(folder / 'run=*' / '*.parquet'))}', hive_partitioning=true, "
            "hive_types={'run': VARCHAR}) GROUP BY run",
            "the backtests",
        )
        labels = self._query_files(
            BACKTEST_RUNS,
            "SELECT run, kind FROM t QUALIFY row_number() OVER (PARTITION BY run ORDER BY labelled_at DESC) = 1",
        )
        kinds = {} if labels.empty else dict(zip(labels["run"], labels["kind"], strict=True))
        newest = {r: max(f.stat().st_mtime for f in (folder / f"run={r}").glob("*.parquet")) for r in out["run"]}
        out = out.assign(
            kind=pd.Series([kinds.get(r) for r in out["run"]], index=out.index, dtype=object),
            start=pd.to_datetime(out["start"], utc=True),
            end=pd.to_datetime(out["end"], utc=True),
            written_at=pd.to_datetime([newest[r] for r in out["run"]], unit="s", utc=True),
        )
        return out[columns].sort_values("written_at", ascending=False, ignore_index=True)

    def _sql(self, sql: str, what: str) -> pd.DataFrame:
        """The result of one DuckDB query over the store's files; `StoreError` naming `what` when it fails."""
        con = duckdb.connect()
        try:
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise StoreError(f"cannot read {what} in the history store at {self.root}: {exc}") from None
        finally:
            con.close()

    def _query_files(self, table: str, sql: str, day: pd.Timestamp | None = None) -> pd.DataFrame:
        """Run `sql` over table `table`'s files (only the `day` partition when given) exposed as view `t`;
        empty frame if none exist."""
        folder = self.root / f"table={table}" if day is None else self._dir(table, day)
        files = "*.parquet" if day is not None else "*/*.parquet"
        if not any(folder.glob(files)):
            return pd.DataFrame()
        pattern = str(folder / files)
        con = duckdb.connect()
        try:
            con.execute(
                f"CREATE VIEW t AS SELECT * FROM read_parquet('{_sql_str(pattern)}', union_by_name=true, "
                "hive_partitioning=false)"
            )
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise StoreError(f"cannot read history store table {table!r} at {self.root}: {exc}") from None
        finally:
            con.close()

    def history(self) -> pd.DataFrame:
        """One row per stored snapshot: as_of, number of tables, total rows, table names, and the live sources
        that were stale (comma-separated; empty when none was, or the snapshot came from recorded files)."""
        out = self._query_files(
            SNAPSHOTS,
            "SELECT snapshot_as_of AS as_of, count(*) AS tables, sum(rows) AS rows, "
            "string_agg(table_name, ', ' ORDER BY table_name) AS table_names, max(written_at) AS written_at "
            "FROM t GROUP BY snapshot_as_of ORDER BY snapshot_as_of",
        )
        if out.empty:
            return pd.DataFrame(columns=["as_of", "tables", "rows", "table_names", "stale"])
        stale = self._query_files(
            SOURCES,
            "SELECT DISTINCT snapshot_as_of AS as_of, name FROM t WHERE state <> 'ok'",
        )
        names = {} if stale.empty else stale.groupby("as_of")["name"].agg(lambda n: ", ".join(sorted(n))).to_dict()
        return out.assign(stale=[names.get(t, "") for t in out["as_of"]])

    def verdict_history(self, signal: str | None = None) -> pd.DataFrame:
        """Each stored verdict (one per as_of and signal), oldest first, with its key metric: the first one
        the signal lists (name, value, unit; None when it gave none)."""
        where = "" if signal is None else f"WHERE signal = '{_sql_str(signal)}'"
        return self._query_files(
            VERDICTS,
            "SELECT snapshot_as_of AS as_of, signal, status, headline, "
            "json_extract_string(verdict_json, '$.metrics[0].name') AS key_metric, "
            "TRY_CAST(json_extract_string(verdict_json, '$.metrics[0].value') AS DOUBLE) AS key_value, "
            f"json_extract_string(verdict_json, '$.metrics[0].unit') AS key_unit FROM t {where} "
            "QUALIFY row_number() OVER (PARTITION BY snapshot_as_of, signal ORDER BY headline) = 1 "
            "ORDER BY as_of, signal",
        )

    def load(self, as_of: str | pd.Timestamp) -> Snapshot:
        """Rebuild the committed snapshot stored at exactly `as_of` (`parse_as_of`: a bare date is the end of that
        UTC day)."""
        cut = parse_as_of(as_of)
        if not any((self.root / f"table={SNAPSHOTS}").glob("*/*.parquet")):
            raise StoreError(f"history store at {self.root} is empty")
        recs = self._query_files(SNAPSHOTS, "SELECT * FROM t", day=cut)  # the day's partition only
        if not recs.empty:
            recs = recs[pd.to_datetime(recs["snapshot_as_of"], utc=True) == cut]
        if recs.empty:
            raise StoreError(f"no snapshot stored at {cut.isoformat()} in {self.root}")
        frames, prov = {}, {}
        for rec in recs.itertuples():
            path = self._dir(rec.table_name, cut) / f"{rec.key}.parquet"
            df = pd.read_parquet(path).drop(columns=["snapshot_as_of"])
            frames[rec.table_name] = df[tables.spec(rec.table_name).names]
            prov[rec.table_name] = Provenance(**json.loads(rec.provenance))
        status = self._query_files(SOURCES, "SELECT * FROM t", day=cut)
        if not status.empty:
            status = status[pd.to_datetime(status["snapshot_as_of"], utc=True) == cut].drop_duplicates("name")
        sources = tuple(SourceStatus(r.name, r.state, r.message, int(r.rows)) for r in status.itertuples())
        return Snapshot(cut, frames, prov, sources)


def _sql_str(s: str) -> str:
    return s.replace("'", "''")
