"""What every command shares: the typer app, the option conventions, JSON output, one-line errors.

Conventions every command follows: `--data DIR` (recorded data; default $CAPITULATION_DATA, else
../shared/data when it exists), `--snapshot PATH` (a saved snapshot instead), `--db PATH` (history store),
`--json` (same content, machine-readable: one object with `schema_version` and `as_of` in ISO 8601 UTC);
exit 0 on success, 2 on bad input, one line, no traceback. Each command's help ends with examples.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer vendors click (0.29)
from typer.core import TyperGroup

from capitulation.errors import CapitulationError, one_line

if TYPE_CHECKING:
    import pandas as pd

    from capitulation.cli.documents import DocumentCache
    from capitulation.snapshot import Snapshot, SourceStatus


class OneLineErrors(TyperGroup):
    """The command group whose usage errors (a wrong choice, an unknown option, a malformed number) print
    as every other error: one line on stderr, exit 2; help for a bare `capitulation` as usual."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            typer.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    add_completion=True,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
log = logging.getLogger("capitulation")

SCHEMA_VERSION = 1
"""The shape of every command's --json object; raised when a key is renamed or removed (not when added)."""
WIDE_COLUMNS = 120
"""Terminals at least this wide get the tables' full layout; narrower ones (COLUMNS, a pipe: 80) a compact one."""
DATA_ENV = "CAPITULATION_DATA"
SHARED_DATA = Path("../shared/data")
"""The recorded data's place relative to a checkout's root: the default --data when it exists."""

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", envvar=DATA_ENV, help="folder of recorded data (default: ../shared/data when it exists)"),
]
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


def examples(*lines: str) -> str:
    """A command's help epilog: an "Examples:" block, one command line each, kept as written (not rewrapped)."""
    return "[bold]Examples:[/bold]\n\n" + "\n".join(f"  capitulation {line}" for line in lines)


def fail(msg: str) -> NoReturn:
    typer.echo(f"error: {one_line(msg)}", err=True)
    raise typer.Exit(2)


def _json_default(obj: object) -> str:
    """Times in ISO 8601 with a `T` (2026-02-05T23:59:59+00:00), any other object as str."""
    return obj.isoformat() if isinstance(obj, date | datetime) else str(obj)


def json_text(obj: object) -> str:
    """The JSON text every command prints for `obj` (already `clean`): indented, times ISO 8601, others str."""
    return json.dumps(obj, indent=2, default=_json_default, allow_nan=False)


def envelope(doc: Mapping[str, object], as_of: date | str | None) -> dict[str, object]:
    """A command's --json object: `schema_version`, `as_of` (ISO 8601 UTC: the data's time; None: now, for a
    listing or a calculator that reads no data), then `doc`'s keys, NaN as null."""
    out: dict[str, object] = {"schema_version": SCHEMA_VERSION, "as_of": None}
    out.update(clean(dict(doc)))  # type: ignore[call-overload]
    out["as_of"] = _utc(as_of).isoformat()
    return out


def _utc(when: date | str | None) -> datetime:
    """`when` as a UTC datetime (naive: UTC; a date: its midnight; None: now, to the second); an ISO 8601
    string read by the standard library, any other spelling by pandas (a pandas Timestamp stays one)."""
    if when is None:
        return datetime.now(UTC).replace(microsecond=0)
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            import pandas as pd

            when = pd.Timestamp(when)
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def print_json(doc: Mapping[str, object], as_of: date | str | None) -> None:
    """Print a command's --json object (`envelope`)."""
    typer.echo(json_text(envelope(doc, as_of)))


def clean(obj: object) -> object:
    """Replace NaN/inf by None so the JSON is standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj


KERNEL_MODULES = ("analytics/_black76_kernel.py", "analytics/liquidation_map.py", "backfill/_kernel.py")
"""The package's numba modules (`@njit(cache=True)`), relative to the package folder."""
COMPILE_NOTICE = "compiling numeric kernels once (about a minute on first run)..."


def kernel_cache_cold(package: Path | None = None, cache_dir: str | None = None) -> bool:
    """Whether numba will compile: some kernel module has no cache index (`<module>.*.nbi`) newer than its
    source, in $NUMBA_CACHE_DIR (numba's layout: the module's folder path under it) or else its __pycache__.
    A few stat calls; approximate by design (it only decides whether to print `COMPILE_NOTICE`)."""
    root = Path(__file__).resolve().parents[1] if package is None else package
    cache_dir = os.environ.get("NUMBA_CACHE_DIR") if cache_dir is None else cache_dir
    for rel in KERNEL_MODULES:
        src = root / rel
        where = Path(cache_dir, *src.parent.parts[1:]) if cache_dir else src.parent / "__pycache__"
        index = [p.stat().st_mtime for p in where.glob(f"{src.stem}.*.nbi")]
        if not index or min(index) < src.stat().st_mtime:
            return True
    return False


def compile_notice(stream: TextIO | None = None) -> None:
    """One line on `stream` (default stderr) before work that compiles the kernels: only while their cache is
    cold and only for a person (a terminal), so logs and tests that read the output see no extra line."""
    out = sys.stderr if stream is None else stream
    if out.isatty() and kernel_cache_cold():
        print(COMPILE_NOTICE, file=out, flush=True)


def load_snapshot(
    data: Path | None, snapshot: Path | None, as_of: str | None, no_cache: bool = False, stack: Path | None = None
) -> Snapshot:
    """The snapshot a command runs on: a saved snapshot folder, or the recorded data under `data` (its tables
    from the parsed-table cache, `sources.cache`, unless `no_cache`; its capital stack from `stack`, default
    the bundled file); says on stderr when the numeric kernels its analysis uses are about to compile
    (`compile_notice`)."""
    from capitulation.snapshot import Snapshot, parse_as_of
    from capitulation.sources.cache import TableCache
    from capitulation.sources.recorded import build_snapshot

    compile_notice()

    cut = None if as_of is None else parse_as_of(as_of)
    if snapshot is not None:
        snap = Snapshot.load(snapshot)
        return snap.upto(cut) if cut is not None else snap
    return build_snapshot(data_dir(data), cut, stack=stack, cache=None if no_cache else TableCache())


Doc = dict[str, Any]
"""A command's document: JSON values only (what its --json prints, and what its terminal view is drawn from)."""


def command_document(
    command: str,
    data: Path | None,
    snapshot: Path | None,
    as_of: str | None,
    no_cache: bool,
    compute: Callable[[Snapshot], Doc],
    *,
    stack: Path | None = None,
    **options: object,
) -> Doc:
    """`compute(snapshot)`, the document of `command` with `options` (JSON values: every option that changes
    it) on the recorded data or saved snapshot (`load_snapshot`, with the capital-stack file `stack`: its
    content must be in `options`); read from the document cache (`cli.documents`) when the inputs, code and
    options are unchanged, unless `no_cache`, else computed and kept there. The document comes back through
    JSON on both paths, so a kept one renders as a computed one."""
    memo = _memo(command, data, snapshot, as_of, no_cache, None, options)
    doc = None if memo is None else memo.get(None)
    if doc is not None:
        return doc

    def work() -> Doc:
        return _json_values(compute(load_snapshot(data, snapshot, as_of, no_cache, stack)))

    doc, manifest = (work(), None) if memo is None else memo.compute(work)
    if memo is not None:
        memo.put(doc, manifest, None)
    return doc


def report_document(
    data: Path | None,
    snapshot: Path | None,
    as_of: str | None,
    thresholds: Path | None = None,
    no_cache: bool = False,
    *,
    store: Path | None = None,
    html: Path | None = None,
) -> tuple[Doc, int]:
    """The report's document (`report.model.as_json`) as `command_document` makes one, with `thresholds` (a
    TOML file, else the defaults), and the number of tables newly stored. `store`: a history store root to
    store the snapshot and verdicts in (a kept document is used only while the store still holds them);
    `html`: also write the HTML report there (computed, never read back)."""
    memo = None if html is not None else _memo("report", data, snapshot, as_of, no_cache, thresholds, {})
    doc = None if memo is None else memo.get(store)
    if doc is not None:
        return doc, 0

    from capitulation.report import model
    from capitulation.signals import config
    from capitulation.store import HistoryStore

    def evaluate() -> tuple[Snapshot, model.Report]:
        th = None if thresholds is None else config.load(thresholds)
        snap = load_snapshot(data, snapshot, as_of, no_cache)
        return snap, model.build(snap, th)

    (snap, rep), manifest = (evaluate(), None) if memo is None else memo.compute(evaluate)
    doc = _json_values(model.as_json(rep))
    if html is not None:
        from capitulation.report.html import write_html

        write_html(rep, snap, html, HistoryStore(store))  # the backtest's timeline, when it holds one
    written = 0
    if store is not None:
        hs = HistoryStore(store)
        written = hs.write(snap)
        hs.write_verdicts(rep.verdicts)
    if memo is not None:
        memo.put(doc, manifest, store)
    return doc, written


def _memo(
    command: str,
    data: Path | None,
    snapshot: Path | None,
    as_of: str | None,
    no_cache: bool,
    thresholds: Path | None,
    options: Mapping[str, object],
) -> DocumentCache | None:
    """The document cache entry of this run; None when it is not cached (`no_cache`, or an as_of such as
    'now' that is another instant every run)."""
    from capitulation.cli.documents import DocumentCache, cacheable

    if no_cache or not cacheable(as_of):
        return None
    where = data_dir(data) if snapshot is None else snapshot
    return DocumentCache(where, command, as_of, thresholds, snapshot=snapshot is not None, **options)


def _json_values(doc: Doc) -> Doc:
    """`doc` as JSON gives it back (tuples as lists, NaN kept); a value JSON cannot hold is a TypeError."""
    return json.loads(json.dumps(doc, allow_nan=True))


def data_dir(data: Path | None) -> Path:
    """The recorded data a command reads: --data (or $CAPITULATION_DATA), else ../shared/data when it exists;
    exit 2 naming the options when there is none."""
    if data is not None:
        return data
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    fail(
        f"no data to report on: pass --data DIR (a folder of recorded data such as {SHARED_DATA}; or set "
        f"{DATA_ENV}) or --snapshot PATH"
    )


@contextmanager
def handled() -> Iterator[None]:
    """Turn the package's errors into a one-line message and exit code 2."""
    try:
        yield
    except CapitulationError as exc:
        fail(str(exc))


def verbose() -> bool:
    """Whether the running command was given -v: capitulation's loggers log at INFO (`main`)."""
    return log.getEffectiveLevel() <= logging.INFO


def source_progress() -> Callable[[SourceStatus, float], None] | None:
    """A live snapshot's `on_source` (`live.SourceDone`) for a person: one stderr line per source as it
    finishes ("  option_quotes ok 664 rows 1.2 s"), on a terminal or with -v; None otherwise."""
    if not (sys.stderr.isatty() or verbose()):
        return None

    def line(status: SourceStatus, seconds: float) -> None:
        state = f"ok {status.rows:,} rows" if status.state == "ok" else "stale"
        why = f": {status.message}" if status.message and status.state != "ok" else ""
        print(f"  {status.name} {state} {seconds:.1f} s{why}", file=sys.stderr, flush=True)

    return line


def package_version() -> str:
    """The installed distribution's version (package metadata), or 'unknown' when run from a bare tree."""
    try:
        return version("capitulation")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"capitulation {package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress to stderr")] = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="do not wrap tables to the terminal (or $COLUMNS, 80 in a pipe)")
    ] = False,
    _version: Annotated[
        bool | None,
        typer.Option("--version", callback=_show_version, is_eager=True, help="print the version and exit"),
    ] = None,
) -> None:
    """Bitcoin market-stress monitor: has the market reached the true liquidation moment, and where is the
    bottom range forming?

    [bold]Examples:[/bold]

        capitulation report --data ../shared/data
        capitulation levels --as-of 2026-02-05 --json | python -m json.tool
        capitulation --install-completion
    """
    if wide:
        console.width = 10_000  # a table takes only the width its cells need: one line per row
    # Data-quality notes also live in each table's provenance (shown in the report); -v shows them as logged.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    if not verbose:
        handler.addFilter(own_records)
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, handlers=[handler])
    log.setLevel(logging.INFO if verbose else logging.NOTSET)  # also where logging was configured before


def own_records(record: logging.LogRecord) -> bool:
    """Whether a log record is capitulation's own: without -v, the libraries' logs (yfinance, urllib3, ccxt,
    asyncio, ...) stay out of the terminal; what they report reaches the user as a source's reason."""
    return record.name == log.name or record.name.startswith(log.name + ".")


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: times in ISO format, NaN/NaT as None."""
    import pandas as pd

    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return [clean({k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}) for r in rows]
