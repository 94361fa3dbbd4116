"""Shared helpers for live network sources: a bounded retry with exponential backoff, and a JSON GET.

Each source keeps its own transport (ccxt's `requests` session for the exchanges, a `requests.Session` for
the REST providers); what is shared is the rule for a refused call: wait, try again a bounded number of
times, then give up and let the source report it. Everything goes through `requests`, so a tape
(`sources.tape`) records and replays it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import requests

from capitulation.errors import DataError, SourceError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """At most `attempts` tries in all; before try k+1 wait `first_delay_s` x `factor`**(k-1) seconds,
    capped at `max_delay_s`. `sleep` is swappable (tests record the waits instead of sleeping)."""

    attempts: int = 4
    first_delay_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        """The waits between tries, seconds (attempts - 1 of them)."""
        return [min(self.first_delay_s * self.factor**k, self.max_delay_s) for k in range(self.attempts - 1)]

    def call(self, fn: Callable[[], T], retry_if: Callable[[Exception], bool], what: str = "call") -> T:
        """`fn()`, tried again after each exception for which `retry_if` is true; the last one propagates."""
        for k, delay in enumerate(self.delays(), start=1):
            try:
                return fn()
            except Exception as exc:
                if not retry_if(exc):
                    raise
                log.info("%s refused (try %d of %d: %s); retrying in %.3g s", what, k, self.attempts, exc, delay)
                self.sleep(delay)
        return fn()


def utc_now() -> pd.Timestamp:
    """The current time, tz-aware UTC: the one clock of live sources (retrieval times, the as_of of a live
    snapshot, `watch` cycles); tests replace it."""
    return pd.Timestamp.now(tz="UTC")


TIMEOUT_S = 15.0
RETRY_STATUSES = frozenset({418, 429, 500, 502, 503, 504})
USER_AGENT = "capitulation (github.com/capitulation; public market data, no API key)"


class RefusedError(SourceError):
    """A request refused: rate limited (HTTP 418/429), a server error (5xx) or unreachable (`status` 0).
    Raised for each try inside `get_json`'s retries, and once more when they are spent."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def rate_limited(self) -> bool:
        return self.status in (418, 429)


def session() -> requests.Session:
    """A `requests` session for a public REST provider (no credentials, JSON accepted)."""
    s = requests.Session()
    s.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return s


def get_json(
    s: requests.Session,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    backoff: Backoff,
    what: str,
    timeout_s: float = TIMEOUT_S,
) -> Any:
    """GET `url` and decode its JSON body.

    429/418/5xx answers and connection errors or timeouts are retried with `backoff`; the last refusal raises
    `RefusedError` (rate limited / server error / unreachable, naming `what` and the HTTP status). Any other
    non-2xx answer raises `SourceError` at once; a body that is not JSON raises `DataError`.
    """

    def once() -> Any:
        try:
            r = s.get(url, params=params, timeout=timeout_s)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RefusedError(f"unreachable: {what} ({type(exc).__name__}: {exc})", 0) from exc
        if r.status_code in RETRY_STATUSES:
            kind = "rate limited" if r.status_code in (418, 429) else "server error"
            raise RefusedError(f"{kind}: {what} answered HTTP {r.status_code}", r.status_code)
        if not r.ok:
            raise SourceError(f"{what} answered HTTP {r.status_code}: {r.text[:200]!r}")
        try:
            return r.json()
        except ValueError:
            raise DataError(f"malformed response: {what} is not JSON: {r.text[:80]!r}") from None

    try:
        return backoff.call(once, lambda exc: isinstance(exc, RefusedError), what)
    except RefusedError as exc:
        raise RefusedError(f"{exc} ({backoff.attempts} tries)", exc.status) from exc
