"""Alerts: what changed between two `watch` cycles, and the messages that say so. Pure: no network, no disk.

Three kinds of change between the previous stored cycle and this one:

* `status`: a signal's verdict changed status (holds / does not hold / not enough data);
* `count`: the number of holding signals crossed `count_at` (up: from below it to at or above it; down: the
  reverse);
* `level`: spot crossed a level of this cycle's ladder (`analytics.levels.ladder`: every signal's levels within
  50 % of spot). Up: previous spot < level <= spot; down: previous spot > level >= spot. Judged only when both
  cycles have a BTC close (`signals.common.spot`).

Each alert is keyed by what changed, from which cycle (`previous_as_of`), to what: re-running `watch` over the
same change (after a kill) gives the same key, and the store keeps one alert per key.

Destinations (`parse_destination`): `--notify URL` picks its format from an explicit prefix (`generic+https://`,
`slack+https://`, `discord+https://`), else from the host (hooks.slack.com: Slack; discord.com or
discordapp.com under /api/webhooks: Discord), else the generic format. `--notify-cmd CMD` runs a command
(`shlex.split`, no shell) with the generic JSON message on stdin. Their names (`Destination.name`) mask any
secret: only the scheme, host and port are shown, with a short hash to tell destinations apart.

The generic message (`generic_message`, `SCHEMA_VERSION` 1) is one JSON object; every key is always present
(null where it does not apply):

    schema_version  1
    id              the alert's key (the same on a re-delivery: receivers may deduplicate on it)
    kind            "status" | "count" | "level"
    as_of           the cycle that saw the change, ISO 8601 UTC ("2026-02-06T12:00:00+00:00")
    previous_as_of  the stored cycle it is compared with
    text            one line for humans (also the Slack `text` and Discord `content`)
    signal          status: the signal; level: the signal that placed the level
    old_status, new_status              status
    holding, previous_holding, threshold  count: holding signals now / before, and `count_at`
    direction       count and level: "up" | "down"
    level_usd, level_label              level: the level (USD per BTC) and what it is
    spot_usd, previous_spot_usd         BTC spot of both cycles, USD (level; spot_usd also when known)
"""

from __future__ import annotations

import hashlib
import math
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import pandas as pd

from capitulation.analytics.levels import Level, ladder
from capitulation.choices import DEFAULT_COUNT_AT
from capitulation.errors import DataError
from capitulation.verdict import Status, Verdict

SCHEMA_VERSION = 1
EXPIRY = pd.Timedelta(hours=24)
"""An alert not delivered to a destination within 24 h of the cycle that saw it is marked expired there."""
FORMATS = ("generic", "slack", "discord")
DISCORD_MAX = 2000  # Discord: `content` holds up to 2000 characters


@dataclass(frozen=True)
class Cycle:
    """What a cycle's alerts are judged on: its as_of (UTC), each signal's status, BTC spot (USD; None without
    prices) and its ladder's levels."""

    as_of: pd.Timestamp
    statuses: Mapping[str, str]
    spot: float | None
    levels: tuple[Level, ...] = ()

    @property
    def holding(self) -> int:
        """How many signals hold."""
        return sum(s == Status.HOLDS for s in self.statuses.values())


def cycle(as_of: pd.Timestamp, verdicts: Iterable[Verdict], spot: float | None) -> Cycle:
    """A cycle from its verdicts: statuses by signal, and the ladder of every signal's levels around `spot`."""
    verdicts = list(verdicts)
    levels = list(dict.fromkeys(lv for v in verdicts for lv in v.levels))
    on_ladder = tuple(lv for lv, _ in ladder(levels, spot)) if spot else ()
    return Cycle(as_of, {v.signal: v.status.value for v in verdicts}, spot, on_ladder)


@dataclass(frozen=True)
class Alert:
    """One change; `as_dict` is the generic message without `schema_version` (the store's row)."""

    key: str
    kind: str
    as_of: pd.Timestamp
    previous_as_of: pd.Timestamp
    text: str
    signal: str | None = None
    old_status: str | None = None
    new_status: str | None = None
    holding: int | None = None
    previous_holding: int | None = None
    threshold: int | None = None
    direction: str | None = None
    level_usd: float | None = None
    level_label: str | None = None
    spot_usd: float | None = None
    previous_spot_usd: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {("id" if k == "key" else k): v for k, v in asdict(self).items()}


def _key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]


def _usd(x: float) -> str:
    return f"${x:,.0f}"


def detect(previous: Cycle | None, current: Cycle, count_at: int = DEFAULT_COUNT_AT) -> list[Alert]:
    """The alerts between `previous` (None: the first cycle, nothing to compare) and `current`: status changes
    (signals in both, in `current`'s order), then the count crossing, then level crossings (highest first)."""
    if previous is None:
        return []
    prev_t, now = previous.as_of, current.as_of
    out = []
    for signal, new in current.statuses.items():
        old = previous.statuses.get(signal)
        if old is not None and old != new:
            out.append(
                Alert(
                    _key("status", signal, prev_t.isoformat(), new),
                    "status",
                    now,
                    prev_t,
                    f"{signal}: {old} -> {new}",
                    signal=signal,
                    old_status=old,
                    new_status=new,
                    spot_usd=current.spot,
                )
            )
    before, after = previous.holding, current.holding
    if (before < count_at) != (after < count_at):
        up = after >= count_at
        out.append(
            Alert(
                _key("count", count_at, prev_t.isoformat(), "up" if up else "down"),
                "count",
                now,
                prev_t,
                f"{after} of {len(current.statuses)} signals hold (was {before}): "
                f"{'reached' if up else 'fell below'} {count_at}",
                holding=after,
                previous_holding=before,
                threshold=count_at,
                direction="up" if up else "down",
                spot_usd=current.spot,
            )
        )
    if previous.spot is not None and current.spot is not None:
        lo, hi = previous.spot, current.spot
        for lv in current.levels:
            up = lo < lv.price <= hi
            if not (up or hi <= lv.price < lo):
                continue
            way = "up" if up else "down"
            out.append(
                Alert(
                    _key("level", lv.signal, lv.label, f"{lv.price:.6g}", prev_t.isoformat(), way),
                    "level",
                    now,
                    prev_t,
                    f"BTC {_usd(hi)} crossed {way} through {_usd(lv.price)}: {lv.label} (was {_usd(lo)})",
                    signal=lv.signal,
                    direction=way,
                    level_usd=lv.price,
                    level_label=lv.label,
                    spot_usd=hi,
                    previous_spot_usd=lo,
                )
            )
    return out


def generic_message(alert: Alert) -> dict[str, object]:
    """The generic webhook's JSON object (see the module notes); also what `--notify-cmd` reads on stdin."""
    body = alert.as_dict()
    body = {"schema_version": SCHEMA_VERSION, **body}
    for k in ("as_of", "previous_as_of"):
        body[k] = pd.Timestamp(body[k]).isoformat()
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in body.items()}


def payload(alert: Alert, fmt: str) -> dict[str, object]:
    """The message for a destination format: generic (`generic_message`); Slack's incoming webhook
    `{"text": ...}`; Discord's execute-webhook `{"content": ..., "allowed_mentions": {"parse": []}}` (content cut
    to Discord's 2000 characters; no @mentions are parsed)."""
    text = f"capitulation {alert.as_of:%Y-%m-%d %H:%M} UTC: {alert.text}"
    if fmt == "slack":
        return {"text": text}
    if fmt == "discord":
        return {"content": text[:DISCORD_MAX], "allowed_mentions": {"parse": []}}
    return generic_message(alert)


@dataclass(frozen=True)
class Destination:
    """Where alerts go: `fmt` (generic / slack / discord / cmd), `target` (the URL to post to, or the
    command's argv) and `name` (masked: safe to print and store)."""

    fmt: str
    target: str | tuple[str, ...]
    name: str


def _tag(secret: str) -> str:
    """A short hash telling two masked destinations apart without showing them."""
    return hashlib.sha256(secret.encode()).hexdigest()[:6]


def mask(url: str) -> str:
    """`url` safe to show: scheme, host and port, '/...' for any path or query (tokens live there; no user info
    or fragment), and a short hash of the whole to tell destinations apart: 'https://hooks.slack.com/...#1a2b3c'."""
    u = urlsplit(url)
    try:
        port = f":{u.port}" if u.port else ""
    except ValueError:  # not a port number
        port = ":?"
    tail = "/..." if u.path.strip("/") or u.query else ""
    return f"{u.scheme}://{u.hostname or ''}{port}{tail}#{_tag(url)}"


def _format_of(host: str, path: str) -> str:
    if host == "hooks.slack.com":
        return "slack"
    if host in ("discord.com", "discordapp.com") and path.startswith("/api/webhooks/"):
        return "discord"
    return "generic"


def parse_destination(text: str) -> Destination:
    """A `--notify` value: `[generic+|slack+|discord+]http(s)://host/...`. `DataError` (one line, the URL
    masked) when it is not http(s) or has no host."""
    fmt, sep, url = text.partition("+")
    if not sep or fmt not in FORMATS:
        fmt, url = "", text
    u = urlsplit(url)
    if u.scheme not in ("http", "https"):
        scheme = f"its scheme is {u.scheme!r}" if u.scheme else "it has no scheme"
        raise DataError(
            f"--notify: not an http(s) URL ({scheme}; give https://..., or slack+https://, discord+https://, "
            "generic+https:// to choose the format)"
        )
    try:
        host = u.hostname
        u.port  # noqa: B018 - a bad port raises here
    except ValueError:
        host = None
    if not host:
        raise DataError(f"--notify {u.scheme}://...: the URL has no host, or a bad port")
    fmt = fmt or _format_of(host, u.path)
    return Destination(fmt, url, f"{fmt}:{mask(url)}")


def parse_command(text: str) -> Destination:
    """A `--notify-cmd` value, split as a shell would (`shlex.split`) but run without one; `DataError` when it
    is empty or unbalanced. Its name shows the program only."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise DataError(f"--notify-cmd: cannot split the command ({exc})") from None
    if not argv:
        raise DataError("--notify-cmd: empty command")
    return Destination("cmd", argv, f"cmd:{argv[0]}#{_tag(text)}")


def expired(alert_as_of: pd.Timestamp, now: pd.Timestamp, expiry: pd.Timedelta = EXPIRY) -> bool:
    """Whether an alert seen at `alert_as_of` is past delivery at `now` (UTC)."""
    return now - alert_as_of > expiry
