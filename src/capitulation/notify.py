"""`watch --notify`: find this cycle's alerts against the previous stored cycle, store them, deliver them.

The edge of `capitulation.alerts` (which decides what changed and writes the messages): this module reads and
writes the history store, posts to webhooks and runs `--notify-cmd` commands.

Delivery, per cycle: every alert still queued for a configured destination is sent, oldest first, within
`BUDGET_S` seconds in all (so a dead endpoint never holds up the cycle). Each is tried up to `TRIES` times,
waiting `DELAYS_S` between tries, each request timing out after `TIMEOUT_S` (cut to the budget left). A
timeout, an unreachable host, HTTP 408/429/5xx, a redirect (3xx: not followed, a POST must not be replayed
elsewhere) or a command's non-zero exit leave the alert queued, with the reason, for the next cycle; once a
destination has failed in a cycle its other alerts wait for the next one. Any other HTTP status (400 Slack
`invalid_payload`, 403, 404, 410 `channel_is_archived`, ...) or a command that cannot be started marks it
failed there, not retried. An alert still queued `alerts.EXPIRY` (24 h) after the cycle that saw it is marked
expired. A delivery that timed out may still have arrived: receivers can deduplicate on the message's `id`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import pandas as pd
import requests

from capitulation import alerts
from capitulation.alerts import Alert, Destination
from capitulation.errors import DataError, StoreError
from capitulation.signals.common import spot
from capitulation.snapshot import Snapshot
from capitulation.sources import http
from capitulation.store import HistoryStore
from capitulation.verdict import Verdict

log = logging.getLogger(__name__)

sleep = time.sleep
clock = time.monotonic
BUDGET_S = 10.0
"""Seconds all deliveries of one cycle may take, waits included."""
TIMEOUT_S = 5.0
"""Seconds one request (or command) may take."""
DELAYS_S = (0.5, 1.0)
"""Waits between the tries of one alert at one destination, seconds: 3 tries in all."""
TRIES = len(DELAYS_S) + 1


@dataclass(frozen=True)
class Outcome:
    """One alert at one destination after this cycle: state (delivered / queued / failed), why, and the
    requests made."""

    state: str
    reason: str
    tries: int


@dataclass
class CycleReport:
    """What this cycle did with alerts, for the `watch` line."""

    new: int = 0
    delivered: int = 0
    queued: int = 0
    failed: int = 0
    expired: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """'alerts: 2 new, 2 delivered, 1 queued (slack:https://hooks.slack.com/services/...#1a2b3c: HTTP 500)'."""
        parts = [f"{self.new} new"] + [
            f"{n} {what}"
            for n, what in ((self.delivered, "delivered"), (self.queued, "queued"), (self.failed, "failed"))
            if n
        ]
        if self.expired:
            parts.append(f"{self.expired} expired")
        why = f" ({'; '.join(self.problems)})" if self.problems else ""
        return f"alerts: {', '.join(parts)}{why}"

    def as_dict(self) -> dict[str, object]:
        return {
            "new": self.new,
            "delivered": self.delivered,
            "queued": self.queued,
            "failed": self.failed,
            "expired": self.expired,
            "problems": self.problems,
            "summary": self.summary(),
        }


def _scrub(text: str, url: str) -> str:
    """`text` without `url`'s secret parts (its whole, and its path, which an error message may echo)."""
    u = urlsplit(url)
    secret = u.path + (f"?{u.query}" if u.query else "")
    for s in (url, secret, u.path):
        if len(s) > 1:
            text = text.replace(s, "/...")
    return text


def _post(url: str, body: dict[str, object], timeout: float) -> tuple[bool, bool, str]:
    """POST `body` as JSON: (delivered, worth retrying, why not)."""
    try:
        r = requests.post(
            url, json=body, timeout=timeout, allow_redirects=False, headers={"User-Agent": http.USER_AGENT}
        )
    except requests.Timeout:
        return False, True, f"timed out after {timeout:.3g} s"
    except requests.RequestException as exc:
        return False, True, _scrub(f"unreachable ({type(exc).__name__}: {exc})", url)[:200]
    if r.is_redirect or 300 <= r.status_code < 400:
        where = urlsplit(r.headers.get("Location", "")).hostname or "the same host"
        return False, True, f"redirected (HTTP {r.status_code} to {where}; not followed: give the final URL)"
    if r.ok:
        return True, False, ""
    text = _scrub(r.text[:80], url)
    retry = r.status_code in http.RETRY_STATUSES or r.status_code in (408, 425) or r.status_code >= 500
    return False, retry, f"HTTP {r.status_code}" + (f": {text!r}" if text and not retry else "")


def _run(argv: Sequence[str], body: dict[str, object], timeout: float) -> tuple[bool, bool, str]:
    """Run `argv` (no shell) with `body` as JSON on stdin: (exit 0, worth retrying, why not)."""
    try:
        done = subprocess.run(
            list(argv), input=json.dumps(body), text=True, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return False, True, f"timed out after {timeout:.3g} s"
    except OSError as exc:
        return False, False, f"cannot run {argv[0]}: {exc.strerror or exc}"
    if done.returncode == 0:
        return True, False, ""
    last = (done.stderr.strip().splitlines() or [""])[-1][:120]
    return False, True, f"exit status {done.returncode}" + (f": {last}" if last else "")


def deliver(dest: Destination, alert: Alert, deadline: float) -> Outcome:
    """Send `alert` to `dest`, retried as the module notes say, before `deadline` (on `clock`)."""
    body = alerts.payload(alert, dest.fmt)
    reason, tries = "", 0
    for delay in (0.0, *DELAYS_S):
        if delay:
            if deadline - clock() <= delay:
                break
            sleep(delay)
        left = deadline - clock()
        if left <= 0:
            break
        tries += 1
        timeout = min(TIMEOUT_S, left)
        if isinstance(dest.target, tuple):
            ok, retry, reason = _run(dest.target, body, timeout)
        else:
            ok, retry, reason = _post(dest.target, body, timeout)
        if ok:
            return Outcome("delivered", "", tries)
        if not retry:
            return Outcome("failed", reason, tries)
    if not tries:
        return Outcome("queued", "not tried: this cycle's delivery time was spent", 0)
    return Outcome("queued", f"{reason} ({tries} tr{'y' if tries == 1 else 'ies'})", tries)


def stored_alert(row: dict[str, object]) -> Alert:
    """An `Alert` from a stored row (nulls as None, counts as int)."""
    fields = {f: row.get(f) for f in Alert.__dataclass_fields__}
    fields = {k: None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for k, v in fields.items()}
    for k in ("holding", "previous_holding", "threshold"):
        fields[k] = None if fields[k] is None else int(fields[k])
    return Alert(**fields)


@dataclass(frozen=True)
class Notifier:
    """The destinations of `watch --notify` / `--notify-cmd` and the holding count that alerts (`count_at`)."""

    destinations: tuple[Destination, ...]
    count_at: int = alerts.DEFAULT_COUNT_AT

    @classmethod
    def configure(cls, urls: Iterable[str], commands: Iterable[str], count_at: int, signals: int) -> Notifier | None:
        """From the options (None when no destination is given); `DataError` for a malformed URL or command, or
        a `count_at` outside 1..`signals`."""
        dests = tuple(alerts.parse_destination(u) for u in urls) + tuple(alerts.parse_command(c) for c in commands)
        if not 1 <= count_at <= signals:
            raise DataError(f"--notify-count must be between 1 and {signals} (the signals), got {count_at}")
        return cls(dests, count_at) if dests else None

    def _previous(self, store: HistoryStore, as_of: pd.Timestamp) -> alerts.Cycle | None:
        """The latest cycle stored before `as_of`: its statuses and spot (None when its snapshot has no BTC
        close or cannot be read)."""
        prev = store.last_verdicts(as_of)
        if prev.empty:
            return None
        t = prev["as_of"].iloc[0]
        try:
            s = spot(store.load(t))
        except StoreError as exc:
            log.warning("no spot for the previous cycle: %s", exc)
            s = None
        return alerts.Cycle(t, dict(zip(prev["signal"], prev["status"], strict=True)), s)

    def cycle(self, store: HistoryStore, snap: Snapshot, verdicts: Sequence[Verdict]) -> CycleReport:
        """Detect `snap`'s alerts against the previous stored cycle, store the new ones queued for every
        destination, then deliver everything queued (see the module notes). Call it before storing `verdicts`:
        a `watch` killed between the two finds the same changes, under the same keys, when run again."""
        report = CycleReport()
        current = alerts.cycle(snap.as_of, verdicts, spot(snap))
        found = alerts.detect(self._previous(store, snap.as_of), current, self.count_at)
        known = store.alerts()
        new = [a for a in found if known.empty or a.key not in set(known["key"])]
        now = http.utc_now()
        if new:  # queued first: an alert is never stored without its destinations
            queued = [_state(a.key, d.name, Outcome("queued", "", 0), now) for a in new for d in self.destinations]
            store.write_deliveries(pd.DataFrame(queued))
            report.new = len(store.write_alerts(pd.DataFrame([{**asdict(a), "seq": found.index(a)} for a in new])))
            known = store.alerts()
        pending = known[known["state"] == "queued"] if not known.empty else known
        by_name = {d.name: d for d in self.destinations}
        deadline = clock() + BUDGET_S
        down: set[str] = set()
        states = []
        for row in pending.to_dict("records"):
            name = row["destination"]
            if alerts.expired(row["as_of"], now):
                states.append(
                    _state(
                        row["key"],
                        name,
                        Outcome("expired", f"not delivered within {alerts.EXPIRY / pd.Timedelta(hours=1):g} h", 0),
                        now,
                    )
                )
                report.expired += 1
                continue
            if name not in by_name:
                continue  # a destination of an earlier run, not configured now: left queued until it expires
            out = (
                Outcome("queued", "not tried: this destination failed earlier in this cycle", 0)
                if name in down
                else deliver(by_name[name], stored_alert(row), deadline)
            )
            if out.state == "queued":
                down.add(name)
            if out.tries:
                states.append(_state(row["key"], name, out, now))
            setattr(report, out.state, getattr(report, out.state) + 1)
            if out.state != "delivered" and out.tries:
                report.problems.append(f"{name}: {out.reason}")
        store.write_deliveries(pd.DataFrame(states))
        return report


def _state(key: str, destination: str, out: Outcome, at: pd.Timestamp) -> dict[str, object]:
    """A delivery-state row (`HistoryStore.write_deliveries`)."""
    return {
        "key": key,
        "destination": destination,
        "state": out.state,
        "reason": out.reason,
        "tries": out.tries,
        "state_at": at,
    }
