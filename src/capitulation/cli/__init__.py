"""The `capitulation` command line: parse, call the API, render. No math here.

One module per command group registers its commands on the shared app (`common.app`). The console script
(`main`) imports only the module of the command it runs, so `capitulation report` loads no dashboard,
watch or backfill code; `capitulation.cli.app` (the Python API, tests) is the app with every command.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

COMMANDS: dict[str, str] = {
    "alerts": "alerts",
    "backfill": "backfill",
    "backtest": "backtest",
    "mnav": "calculators",
    "mining": "calculators",
    "dashboard": "dashboard",
    "levels": "levels",
    "leverage": "leverage",
    "events": "leverage",
    "crossasset": "markets",
    "sectors": "markets",
    "hedge": "markets",
    "options": "options",
    "report": "report",
    "snapshot": "report",
    "history": "report",
    "watch": "watch",
}
"""Each command's module under capitulation.cli (tests/test_cli.py checks it against the registered app)."""


def with_commands(modules: set[str]) -> typer.Typer:
    """The shared app with the commands of `modules` (names under capitulation.cli) registered."""
    for name in sorted(modules):
        importlib.import_module(f"{__name__}.{name}")
    from capitulation.cli.common import app

    return app


def main() -> None:
    """The console script: the command named on the command line (the first argument that is not an
    option) with only its own module imported; none for `--version` without `--help` (the app's eager option
    answers it); every command for help or an unknown name."""
    args = sys.argv[1:]
    command = next((a for a in args if not a.startswith("-")), None)
    if command in COMMANDS:
        modules = {COMMANDS[command]}
    elif command is None and "--version" in args and "--help" not in args:
        modules = set()
    else:
        modules = set(COMMANDS.values())
    with_commands(modules)()


def __getattr__(name: str) -> object:
    if name == "app":
        return with_commands(set(COMMANDS.values()))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
