"""What every command shares: the typer app, the option conventions, JSON output, one-line errors.

Conventions every command follows: `--data DIR` (recorded data), `--db PATH` (history store), `--json`
(same content, machine-readable, stable keys); exit 0 on success, 2 on bad input, one line, no traceback.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import pandas as pd
import typer
from rich.console import Console

from capitulation.errors import CapitulationError, one_line
from capitulation.snapshot import Snapshot, parse_as_of

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bitcoin market-stress monitor: has the market reached the true liquidation moment, "
    "and where is the bottom range forming?",
)
console = Console()
log = logging.getLogger("capitulation")

DataOpt = Annotated[Path | None, typer.Option("--data", help="folder of recorded data, e.g. ../shared/data")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="history store folder (default: user data dir)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON instead of tables")]
SnapshotOpt = Annotated[Path | None, typer.Option("--snapshot", help="a snapshot folder instead of --data")]
ThresholdsOpt = Annotated[
    Path | None,
    typer.Option("--thresholds", help="TOML file of signal thresholds (a copy of the bundled thresholds.toml)"),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="parse every recorded file again instead of reusing the parsed-table cache"),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="run as of this date/time (UTC); a bare date means its end")
]


def fail(msg: str) -> NoReturn:
    typer.echo(f"error: {one_line(msg)}", err=True)
    raise typer.Exit(2)


def json_text(obj: object) -> str:
    """The JSON text every command prints for `obj` (already `clean`): indented, other objects as str."""
    return json.dumps(obj, indent=2, default=str, allow_nan=False)


def print_json(obj: object) -> None:
    typer.echo(json_text(obj))


def clean(obj: object) -> object:
    """Replace NaN/inf by None so the JSON is standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj


def load_snapshot(data: Path | None, snapshot: Path | None, as_of: str | None, no_cache: bool = False) -> Snapshot:
    """The snapshot a command runs on: a saved snapshot folder, or the recorded data under `data` (its tables
    from the parsed-table cache, `sources.cache`, unless `no_cache`)."""
    from capitulation.sources.cache import TableCache
    from capitulation.sources.recorded import build_snapshot

    cut = None if as_of is None else parse_as_of(as_of)
    if snapshot is not None:
        snap = Snapshot.load(snapshot)
        return snap.upto(cut) if cut is not None else snap
    if data is None:
        fail(
            "no data to report on: pass --data DIR (a folder of recorded data such as ../shared/data) "
            "or --snapshot PATH"
        )
    return build_snapshot(data, cut, cache=None if no_cache else TableCache())


@contextmanager
def handled() -> Iterator[None]:
    """Turn the package's errors into a one-line message and exit code 2."""
    try:
        yield
    except CapitulationError as exc:
        fail(str(exc))


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress to stderr")] = False) -> None:
    # Data-quality notes also live in each table's provenance (shown in the report); -v shows them as logged.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    if not verbose:
        handler.addFilter(own_records)
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, handlers=[handler])


def own_records(record: logging.LogRecord) -> bool:
    """Whether a log record is capitulation's own: without -v, the libraries' logs (yfinance, urllib3, ccxt,
    asyncio, ...) stay out of the terminal; what they report reaches the user as a source's reason."""
    return record.name == log.name or record.name.startswith(log.name + ".")


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: times in ISO format, NaN/NaT as None."""
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return [clean({k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}) for r in rows]
