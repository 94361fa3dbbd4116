"""Record and replay of the live sources: raw HTTP through vcrpy, Yahoo at the adapter boundary.

A tape is a folder:

    http.json        vcrpy cassette (JSON): every HTTP request and raw response of the run, in order
    yahoo/<key>.parquet  each DataFrame yfinance returned (yfinance's curl_cffi traffic escapes vcrpy)

`recording(folder)` fetches live and writes the tape; `replaying(folder)` answers every request from it
(vcrpy record mode 'none': a request not on the tape fails, nothing reaches the network; a cassette or frame
that cannot be read is a `DataError` naming its file, before anything is asked). Requests match
on method, scheme, host, port, path and query; a request made twice is answered by its recordings in order.
Request headers that could carry credentials or cookies, and the cookies responses set, are dropped from
the tape.

vcrpy patches the HTTP stack process-wide and is not safe for requests made at the same moment from several
threads (one can slip past the cassette to the network), so while a tape is active `live.live_snapshot`
asks its sources one after another (`active()`).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from capitulation.errors import DataError, SourceError, describe

if TYPE_CHECKING:  # vcrpy is imported when a tape is used, not by every command that imports this module
    import vcr

HTTP_CASSETTE = "http.json"
YAHOO_DIR = "yahoo"
MATCH_ON = ("method", "scheme", "host", "port", "path", "query")
_SECRET_HEADERS = ("authorization", "cookie", "x-api-key", "x-cg-pro-api-key", "x-cg-demo-api-key")


@dataclass(frozen=True)
class FrameTape:
    """DataFrames recorded at an adapter boundary, one Parquet file per key under `folder`."""

    folder: Path
    mode: Literal["record", "replay"]

    def path(self, key: str) -> Path:
        return self.folder / (re.sub(r"[^A-Za-z0-9._=-]+", "_", key) + ".parquet")

    def frame(self, key: str, fetch: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Replay: the recorded frame (`SourceError` when `key` was not recorded). Record: `fetch()`, written
        atomically (temporary name, then rename) before it is returned."""
        path = self.path(key)
        if self.mode == "replay":
            if not path.is_file():
                raise SourceError(f"not on the tape: {key} ({path} not found)")
            try:
                return pd.read_parquet(path)
            except Exception as exc:  # pyarrow raises its own types for a damaged file
                raise DataError(f"{path}: not a readable recorded frame ({describe(exc)})") from None
        df = fetch()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            df.to_parquet(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return df


_lock = threading.Lock()
_frames: FrameTape | None = None  # module-wide, not a contextvar: sources run in worker threads


def active() -> bool:
    """Whether a tape is recording or replaying in this process."""
    return _frames is not None


def frame(key: str, fetch: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """What an adapter calls instead of `fetch()`: live when no tape is active, else recorded or replayed."""
    tape = _frames
    return fetch() if tape is None else tape.frame(key, fetch)


def http_vcr(mode: Literal["all", "none"], match_on: Sequence[str] = MATCH_ON) -> vcr.VCR:
    """The vcrpy configuration of a tape: JSON cassettes, decoded bodies, credential headers dropped."""
    import vcr

    return vcr.VCR(
        serializer="json",
        record_mode=mode,
        match_on=tuple(match_on),
        decode_compressed_response=True,
        filter_headers=list(_SECRET_HEADERS),
        before_record_response=drop_set_cookie,
    )


def drop_set_cookie(response: dict) -> dict:
    """A recorded response without the cookies the server set (vcrpy's `filter_headers` covers requests only)."""
    headers = {k: v for k, v in response["headers"].items() if k.lower() != "set-cookie"}
    return {**response, "headers": headers}


@contextmanager
def recording(folder: str | Path) -> Iterator[Path]:
    """Fetch live while writing the tape in `folder` (created; an existing tape there is refused)."""
    dest = Path(folder)
    if (dest / HTTP_CASSETTE).exists() or (dest / YAHOO_DIR).exists():
        raise SourceError(f"{dest} already holds a tape; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    with _frame_tape(FrameTape(dest / YAHOO_DIR, "record")), http_vcr("all").use_cassette(str(dest / HTTP_CASSETTE)):
        yield dest


@contextmanager
def replaying(folder: str | Path, match_on: Sequence[str] = MATCH_ON) -> Iterator[vcr.cassette.Cassette]:
    """Answer every HTTP request and Yahoo download from the tape in `folder`; nothing reaches the network.

    `match_on`: vcrpy matchers (tests replaying hand-assembled cassettes match on fewer fields)."""
    src = Path(folder)
    if not src.is_dir():
        raise SourceError(f"no tape at {src}")
    check_cassette(src / HTTP_CASSETTE)
    frames = _frame_tape(FrameTape(src / YAHOO_DIR, "replay"))
    with frames, http_vcr("none", match_on).use_cassette(str(src / HTTP_CASSETTE)) as cassette:
        yield cassette


RESPONSE_KEYS = frozenset({"status", "headers", "body"})


def check_cassette(path: Path) -> None:
    """`DataError` naming `path` when vcrpy could not play it back: not JSON, truncated, or interactions of
    another shape (vcrpy itself would raise from deep inside, or play an unreadable file as an empty tape).
    An absent or empty cassette is an empty tape (every request then fails as not on the tape)."""
    from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
    from vcr.serializers import jsonserializer

    try:
        _, responses, *_ = FilesystemPersister.load_cassette(path, jsonserializer)
    except CassetteNotFoundError:
        return
    except Exception as exc:  # vcrpy raises whatever its decoding and request parsing raise
        raise DataError(f"{path}: not a readable tape ({describe(exc)})") from None
    for i, r in enumerate(responses):
        if not (isinstance(r, dict) and r.keys() >= RESPONSE_KEYS and isinstance(r["status"], dict)):
            need = ", ".join(sorted(RESPONSE_KEYS))
            raise DataError(f"{path}: interaction {i}: not a recorded response (needs {need})")


def unrecorded(exc: BaseException) -> str | None:
    """One line for vcrpy's 'request not on the tape' (raised inside a fetcher; its own message is a
    multi-line how-to about record modes), None for any other failure."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    if not isinstance(exc, CannotOverwriteExistingCassetteException) or exc.failed_request is None:
        return None
    req, where = exc.failed_request, exc.cassette._path
    if exc.reason == "cassette_not_found":
        return f"not on the tape: {req.method} {req.uri} ({where} is missing or empty)"
    return f"not on the tape: {req.method} {req.uri} ({exc.reason.replace('_', ' ')} in {where})"


@contextmanager
def _frame_tape(tape: FrameTape) -> Iterator[None]:
    global _frames
    with _lock:
        if _frames is not None:
            raise SourceError("a tape is already recording or replaying in this process")
        _frames = tape
    try:
        yield
    finally:
        with _lock:
            _frames = None
