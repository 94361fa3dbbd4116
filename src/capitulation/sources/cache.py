"""The parsed-table cache: each recorded table parsed once into Parquet under the user cache directory.

A table's entry is keyed by the files it is read from (every entry directly in its input folders,
`inputs.TABLE_INPUTS`; a sub-folder or broken link by its presence), each by its size, mtime and BLAKE2b
content hash, by the arguments that change what the importer makes of them (the capital-stack file, chain
quote times) and by the package's own code. A lookup only stats the files: sizes and mtimes that match the
manifest are a hit without reading them; a file whose stat changed, or whose mtime is within `RACY_S` of
the entry's write (it may have changed again in the same clock tick, as git's "racily clean" entries), is
hashed, and a changed hash re-parses that table alone. Only a parse that succeeds is stored: a malformed
file raises the importer's own error on every run. Entries are written to a temporary folder and renamed:
a failed or interrupted parse leaves the previous entry, never a half-written one. The log records of the
parse (importer notes such as dropped rows) are stored with the entry and replayed on every hit, so a warm
run says what a cold run says.

`EntryCache` is that mechanism for any result computed from files (`cli.documents` keeps the report's
document with it); this module imports neither pandas nor the importers, so a hit costs a few stats.

Location: `$CAPITULATION_CACHE_DIR`, else the user cache directory (`platformdirs.user_cache_dir`);
`--no-cache` on the command line bypasses it. At most `MAX_FOLDERS` data folders are kept (least recently
used dropped).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import platformdirs

if TYPE_CHECKING:
    import pandas as pd

    from capitulation.snapshot import Provenance

    Part = tuple[pd.DataFrame, Provenance]

log = logging.getLogger(__name__)
T = TypeVar("T")

ENV = "CAPITULATION_CACHE_DIR"
FORMAT = 1
"""The entry layout's version: a different one is a miss."""
RACY_S = 2.0
"""A file modified within this many seconds of its entry's write is hashed even when its stat matches."""
MAX_FOLDERS = 16
ROOT_LOGGER = "capitulation"

FileStat = tuple[int, int]  # size in bytes, mtime in ns
Files = dict[str, Path]  # input files by path relative to the data folder


def default_dir() -> Path:
    """`$CAPITULATION_CACHE_DIR`, else `<user cache dir>/capitulation/tables`."""
    env = os.environ.get(ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir("capitulation")) / "tables"


def content_hash(path: Path) -> str:
    """BLAKE2b-128 of the file's bytes, hex ('' for anything but a regular file)."""
    if not path.is_file():
        return ""
    with path.open("rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


@cache
def code_version() -> str:
    """A hash of the package's sources and bundled data: an importer that changes invalidates every entry."""
    pkg = Path(__file__).resolve().parents[1]
    h = hashlib.blake2b(digest_size=16)
    for f in sorted([*pkg.rglob("*.py"), *(pkg / "data").glob("*")]):
        h.update(f.relative_to(pkg).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def input_files(root: Path, folders: Iterable[str]) -> Files | None:
    """Every entry directly in `root/folder` for each folder, by path relative to `root` (a sub-folder or a
    broken link is an entry too: its appearing or going changes the key); None when a folder is not one."""
    out: Files = {}
    for folder in folders:
        d = root / folder
        if not d.exists():
            continue
        if not d.is_dir():
            return None
        out |= {f"{folder}/{f.name}": f for f in d.iterdir()}
    return dict(sorted(out.items()))


class EntryCache:
    """Entries under `root` (`default_dir()` when None), one folder of them per data folder: each a folder
    holding `meta.json` (its key, the manifest of its input files, the log of its computation) and the
    payload files its user writes. A cache that cannot be read or written is skipped with a log line, never
    an error: the computation is the truth."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = default_dir() if root is None else Path(root)

    def entry(self, data_dir: Path, name: str) -> Path:
        """The folder of entry `name` for the data folder `data_dir`."""
        where = hashlib.blake2b(str(data_dir.resolve()).encode(), digest_size=8).hexdigest()
        return self.root / where / name

    def lookup(self, entry: Path, key: dict[str, object], files: Files) -> dict[str, object] | None:
        """The entry's meta when `key` and the input `files` match it (a changed stat or a racy file hashed),
        else None; call `hit` once its payload is read."""
        try:
            meta = json.loads((entry / "meta.json").read_text())
            if meta["key"] != key or list(meta["files"]) != list(files):
                return None
            hashed = False
            for rel, f in files.items():
                size, mtime, digest = meta["files"][rel]
                racy = mtime >= meta["written_ns"] - RACY_S * 1e9
                if (size, mtime) != _stat(f) or racy:
                    if _stat(f)[0] != size or content_hash(f) != digest:
                        return None
                    hashed = True
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.info("cache entry %s unreadable (%s); computing again", entry, exc)
            return None
        return meta | {"_hashed": hashed}

    def hit(self, entry: Path, meta: dict[str, object], files: Files) -> None:
        """Finish a hit: record the new stats of files that were hashed (so the next lookup needs no hashing),
        replay the computation's log, mark the data folder recently used."""
        if meta.pop("_hashed"):
            digests = {rel: v[2] for rel, v in meta["files"].items()}  # type: ignore[attr-defined]
            self._write_meta(entry, meta | _manifest(_stats(files), digests))
        _replay(meta["log"])  # type: ignore[arg-type]
        os.utime(entry.parent)

    def compute(
        self, files: Files, relist: Callable[[], Files | None], fn: Callable[[], T]
    ) -> tuple[T, dict[str, object] | None]:
        """`fn()` with its log captured, and the manifest of `files` (with the log) to store with its result;
        None when the inputs changed while it ran (`relist` lists them again), so that result is not stored."""
        before, digests = _stats(files), {rel: content_hash(f) for rel, f in files.items()}
        result, records = _captured(fn)
        if relist() != files or _stats(files) != before:
            return result, None
        return result, {"log": records} | _manifest(before, digests)

    def store(self, entry: Path, meta: dict[str, object], write: Callable[[Path], None]) -> None:
        """Write `meta` and the payload (`write(folder)`) as `entry`, through a temporary folder and a rename."""
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
        except OSError as exc:
            log.info("cache entry %s not written (%s)", entry, exc)
            return
        try:
            write(tmp)
            (tmp / "meta.json").write_text(json.dumps(meta))
            old = entry.with_name(f".{entry.name}.old.{os.getpid()}")
            if entry.exists():
                entry.rename(old)
            tmp.rename(entry)
            shutil.rmtree(old, ignore_errors=True)
            self._prune(keep=entry.parent)
        except OSError as exc:
            log.info("cache entry %s not written (%s)", entry, exc)
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _write_meta(entry: Path, meta: dict[str, object]) -> None:
        try:
            fd, tmp = tempfile.mkstemp(prefix=".meta.", dir=entry)
            with os.fdopen(fd, "w") as f:
                json.dump(meta, f)
            os.replace(tmp, entry / "meta.json")
        except OSError as exc:
            log.info("cache entry %s not updated (%s)", entry, exc)

    def _prune(self, keep: Path) -> None:
        """Drop the least recently used data folders beyond `MAX_FOLDERS`."""
        folders = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
        for p in folders[: max(len(folders) - MAX_FOLDERS, 0)]:
            if p != keep:
                shutil.rmtree(p, ignore_errors=True)


class TableCache(EntryCache):
    """Parsed tables of recorded data folders: entry `<data folder>/<table>` holds `table.parquet`."""

    def load(
        self, name: str, data_dir: Path, folders: Iterable[str], salt: str, parse: Callable[[], Part | None]
    ) -> Part | None:
        """Table `name` of `data_dir`: the cached parse when its input files (in `folders`) and `salt` (what
        else changes the parse) are unchanged, else `parse()`, stored for next time."""
        import pandas as pd

        from capitulation.snapshot import Provenance

        files = input_files(data_dir, folders)
        if files is None:
            return parse()
        entry = self.entry(data_dir, name)
        key = {"format": FORMAT, "code": code_version(), "salt": salt}
        meta = self.lookup(entry, key, files)
        if meta is not None:
            try:
                part = pd.read_parquet(entry / "table.parquet"), Provenance(**meta["provenance"])  # type: ignore[arg-type]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.info("table cache %s unreadable (%s); parsing the files", entry, exc)
            else:
                self.hit(entry, meta, files)
                return part
        part, manifest = self.compute(files, lambda: input_files(data_dir, folders), parse)
        if part is not None and manifest is not None:
            df = part[0]
            meta = {"key": key, "provenance": asdict(part[1])} | manifest
            self.store(entry, meta, lambda tmp: df.to_parquet(tmp / "table.parquet", index=False))
        return part


def _stat(f: Path) -> FileStat:
    """Size and mtime of a regular file; (-1, 0) for anything else (only its presence is part of the key)."""
    if not f.is_file():
        return -1, 0
    st = f.stat()
    return st.st_size, st.st_mtime_ns


def _stats(files: Files) -> dict[str, FileStat]:
    return {rel: _stat(f) for rel, f in files.items()}


def _manifest(stats: dict[str, FileStat], digests: dict[str, str]) -> dict[str, object]:
    """The files' [size, mtime_ns, hash] and the time they were checked (`RACY_S`)."""
    return {"written_ns": time.time_ns(), "files": {rel: [*st, digests[rel]] for rel, st in stats.items()}}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _captured(fn: Callable[[], T]) -> tuple[T, list[list[object]]]:
    """`fn()` with the package's log records of INFO and above held back, then replayed (as on a hit): the
    records, as [logger, level, message], are stored with the entry."""
    root = logging.getLogger(ROOT_LOGGER)
    capture = _Capture()
    level, propagate = root.level, root.propagate
    root.addHandler(capture)
    root.setLevel(logging.INFO)
    root.propagate = False
    try:
        result = fn()
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
        root.propagate = propagate
        records = [[r.name, r.levelno, r.getMessage()] for r in capture.records]
        _replay(records)
    return result, records


def _replay(records: list[list[object]]) -> None:
    for name, level, message in records:
        logging.getLogger(str(name)).log(int(level), "%s", message)  # type: ignore[call-overload]
