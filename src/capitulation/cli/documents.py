"""Command documents kept with their inputs: `capitulation report` (and `levels`, `options`, ... each its
own) on unchanged recorded data, code and options reads back the document (`model.as_json` for the report:
what --json prints and the terminal renders) an earlier run computed instead of loading the tables and
analysing them, and renders it as that run did.

An entry is `sources.cache.EntryCache`'s: keyed by every file of every folder the tables are read from, or
of the saved snapshot's folder (`report --snapshot`), each by size, mtime and BLAKE2b hash (racy files
hashed), and by the package's code, the chain quote times, the command and its options (the as_of as given,
a thresholds file by path and content hash); the log of the computation is replayed on a hit.
When the run also stores into the history store, the entry keeps the stats (inode, size, mtime) of every
file of that as_of's day in the store right after the store held the snapshot and its verdicts; a hit
needs them unchanged, so a store that was moved, cleaned, repaired or written to since costs a full run,
never a missing snapshot. Only an as_of that names one instant (none, or an ISO 8601 date or time) is
cached: 'now' is a new instant every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from capitulation.sources.cache import FORMAT, EntryCache, code_version, content_hash, input_files
from capitulation.sources.inputs import CHAIN_TIMESTAMPS, all_folders
from capitulation.store_files import day_files

Doc = dict[str, Any]
T = TypeVar("T")
ISO_AS_OF = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
"""An as_of the cache keeps entries for: a date, or a date and clock time (optionally with its zone)."""
DOC = "document.json"
MAX_DOCUMENTS = 400
"""Documents kept per data folder, the least recently used dropped beyond it: more than a year of daily
`report --as-of` runs beside every other command's latest."""


def cacheable(as_of: str | None) -> bool:
    """Whether a document at `as_of` (as given on the command line) names one instant, so it can be cached."""
    return as_of is None or ISO_AS_OF.fullmatch(as_of.strip()) is not None


class DocumentCache(EntryCache):
    """Documents of `command` with `options` (JSON values; `as_of` as given, None for the default) on the
    recorded data folder `data_dir` (a saved snapshot's folder when `snapshot`); `thresholds`: a file whose
    content is part of the key; `root`: the cache folder (`sources.cache.default_dir()` when None)."""

    def __init__(
        self,
        data_dir: Path,
        command: str,
        as_of: str | None,
        thresholds: Path | None = None,
        *,
        snapshot: bool = False,
        root: str | Path | None = None,
        **options: object,
    ) -> None:
        super().__init__(root)
        self.data_dir = data_dir
        self.folders = (".",) if snapshot else all_folders()
        self.files = input_files(data_dir, self.folders)
        self.key: dict[str, object] = {
            "format": FORMAT,
            "code": code_version(),
            command: {
                "snapshot": snapshot,
                "options": options,
                "as_of": None if as_of is None else as_of.strip(),
                "chains": CHAIN_TIMESTAMPS,
                "thresholds": None if thresholds is None else [str(thresholds.resolve()), content_hash(thresholds)],
            },
        }
        name = hashlib.blake2b(json.dumps(self.key, sort_keys=True).encode(), digest_size=8).hexdigest()
        self.path = self.entry(data_dir, f"_{command}-{name}")

    def get(self, store: Path | None) -> Doc | None:
        """The cached document, None on a miss; with `store` (a history store root), only when the store's
        files of the document's as_of day (its `as_of` key) are as they were when that run had stored it
        there."""
        if self.files is None:
            return None
        meta = self.lookup(self.path, self.key, self.files)
        if meta is None:
            return None
        try:
            doc = json.loads((self.path / DOC).read_text())
            if store is not None and meta["stores"].get(str(store.resolve())) != _receipt(store, doc):
                return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        self.hit(self.path, meta, self.files)
        os.utime(self.path)  # recently used
        return doc

    def compute(self, fn: Callable[[], T]) -> tuple[T, dict[str, object] | None]:  # type: ignore[override]
        """`fn()` (the command's computation) with the manifest to `put` its document with (None: the inputs
        changed while it ran, or cannot be listed)."""
        if self.files is None:
            return fn(), None
        return super().compute(self.files, lambda: input_files(self.data_dir, self.folders), fn)

    def put(self, doc: Doc, manifest: dict[str, object] | None, store: Path | None) -> None:
        """Keep `doc` (from `compute`, with its `manifest`); `store`: the history store that now holds its
        snapshot and verdicts, whose files of that day are noted."""
        if manifest is None:
            return
        stores = {} if store is None else {str(store.resolve()): _receipt(store, doc)}
        text = json.dumps(doc)
        self.store(self.path, {"key": self.key, "stores": stores} | manifest, lambda tmp: (tmp / DOC).write_text(text))
        _prune(self.path.parent, keep=self.path)


def _prune(folder: Path, keep: Path) -> None:
    """Drop the least recently used documents of `folder` beyond `MAX_DOCUMENTS` (never `keep`); the parsed
    tables beside them (no leading '_') are not documents."""
    try:
        docs = sorted((p for p in folder.glob("_*-*") if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    except OSError:
        return
    for p in docs[: max(len(docs) - MAX_DOCUMENTS, 0)]:
        if p != keep:
            shutil.rmtree(p, ignore_errors=True)


def _receipt(store: Path, doc: Doc) -> list[list[object]]:
    """The store's files of the document's as_of day (UTC) with their stats, as JSON keeps them."""
    return [[rel, *stamp] for rel, stamp in day_files(store, str(doc["as_of"])[:10]).items()]
