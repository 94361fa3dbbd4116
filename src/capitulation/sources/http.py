"""Shared helpers for live network sources: a bounded retry with exponential backoff, a time budget, and a
JSON GET.

Each source keeps its own transport (ccxt's `requests` session for the exchanges, a `requests.Session` for
the REST providers); what is shared is the rule for a refused call: wait, try again a bounded number of
times, then give up and let the source report it. Everything goes through `requests`, so a tape
(`sources.tape`) records and replays it.

Under a `budget` (what `watch` gives each source in one cycle) a source is asked once per request, with no
wait, and asks nothing once its time is spent: a refusal is asked again in a later cycle
(`live.SourceRetry`), never by sleeping inside this one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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

    @property
    def tries(self) -> int:
        """How many times `call` tries: `attempts`, or 1 under a `budget`."""
        return 1 if current_budget() is not None else self.attempts

    def delays(self) -> list[float]:
        """The waits between tries, seconds (`tries` - 1 of them)."""
        return [min(self.first_delay_s * self.factor**k, self.max_delay_s) for k in range(self.tries - 1)]

    def call(self, fn: Callable[[], T], retry_if: Callable[[Exception], bool], what: str = "call") -> T:
        """`fn()`, tried again after each exception for which `retry_if` is true; the last one propagates.
        Under a `budget`: tried once."""
        for k, delay in enumerate(self.delays(), start=1):
            try:
                return fn()
            except Exception as exc:
                if not retry_if(exc):
                    raise
                log.info("%s refused (try %d of %d: %s); retrying in %.3g s", what, k, self.tries, exc, delay)
                self.sleep(delay)
        return fn()


@dataclass(frozen=True)
class Budget:
    """One source's allowance in one fetch: each request tried once, and none made after `deadline` (seconds on
    `clock`); a request's timeout is cut to the time left (`request_timeout`)."""

    deadline: float
    clock: Callable[[], float] = time.monotonic

    def left_s(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.deadline - self.clock()


_budgets = threading.local()  # per thread: `live` fetches each source in a thread of its own


@contextmanager
def budget(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[Budget]:
    """Within the block, on this thread: the `Budget` of `seconds` from now on `clock` (monotonic seconds)."""
    outer = current_budget()
    _budgets.current = Budget(clock() + seconds, clock)
    try:
        yield _budgets.current
    finally:
        _budgets.current = outer


def current_budget() -> Budget | None:
    """This thread's `Budget`, or None outside `budget`."""
    return getattr(_budgets, "current", None)


def request_timeout(what: str, timeout_s: float) -> float:
    """The timeout of the next request, seconds: `timeout_s`, cut to the time left in this thread's budget.
    `RefusedError` (status 0, 'out of time') when the budget is spent: the request is not made."""
    b = current_budget()
    if b is None:
        return timeout_s
    left = b.left_s()
    if left <= 0:
        raise RefusedError(f"out of time: {what} not asked (the source's time in this cycle is spent)", 0)
    return min(timeout_s, left)


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
    `RefusedError` (rate limited / server error / unreachable / out of time, naming `what` and the HTTP status).
    Any other non-2xx answer raises `SourceError` at once; a body that is not JSON raises `DataError`. Under a
    `budget`: one try, its timeout cut to the time left.
    """

    def once() -> Any:
        timeout = request_timeout(what, timeout_s)
        try:
            r = s.get(url, params=params, timeout=timeout)
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
        raise RefusedError(f"{exc} ({backoff.tries} tries)" if backoff.tries > 1 else str(exc), exc.status) from exc
