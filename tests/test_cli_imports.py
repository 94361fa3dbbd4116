"""Issue 15: `--version`, `--help` and every command's `--help` run the console script without importing the
numeric stack (pandas, numpy, numba), the store (duckdb) or the dashboard (dash): the command modules import
those inside the commands that use them, and the choices their options list come from light modules."""

import json
import subprocess
import sys

import pytest

from capitulation import cli
from capitulation.cli.common import package_version

HEAVY = ("pandas", "numpy", "numba", "duckdb", "dash")


def console_script(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`capitulation ARGS` through `capitulation.cli.main` in a fresh interpreter: the process, and which of
    `HEAVY` were imported when it exited (printed on stderr's last line by an atexit hook)."""
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr))\n"
        f"sys.argv = ['capitulation', *{list(args)!r}]\n"
        "from capitulation.cli import main\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return run, json.loads(run.stderr.splitlines()[-1])


def test_version_prints_the_version_and_imports_no_command_module():
    code = (
        "import sys\nsys.argv = ['capitulation', '--version']\nfrom capitulation.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print(sorted(m for m in sys.modules if m.startswith('capitulation.cli.') and m != 'capitulation.cli.common'))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert run.stdout.splitlines() == [f"capitulation {package_version()}", "[]"]


@pytest.mark.parametrize(
    "args", [["--version"], ["-v", "--wide", "--version"], ["--help"], ["--help", "--version"]], ids=" ".join
)
def test_top_level_options_import_no_heavy_library(args):
    run, heavy = console_script(*args)
    assert run.returncode == 0, run.stderr
    assert heavy == []
    if "--help" in args:  # the first eager option wins: help, listing every command (so importing its module)
        assert all(f" {command} " in run.stdout for command in cli.COMMANDS)
    else:
        assert run.stdout == f"capitulation {package_version()}\n"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_each_commands_help_imports_no_heavy_library(command):
    run, heavy = console_script(command, "--help")
    assert run.returncode == 0, run.stderr
    assert f"capitulation {command}" in run.stdout  # its own usage line, not the top-level help
    assert heavy == []


def test_a_command_that_computes_still_imports_what_it_uses(tmp_path):
    """The check above sees imports: the same hook shows pandas and duckdb once a command does its work."""
    run, heavy = console_script("alerts", "--db", str(tmp_path / "db"), "--json")
    assert run.returncode == 0, run.stderr
    assert {"pandas", "duckdb"} <= set(heavy)


def test_the_light_signal_names_are_the_signal_modules_in_order():
    """`signals.ALL_SIGNALS` is a plain tuple (for --help): each name is its module's `SIGNAL`."""
    from capitulation.signals import ALL_SIGNALS, INDEPENDENT, MODULES, bottom_range

    assert tuple(MODULES) == ALL_SIGNALS and len(ALL_SIGNALS) == 8
    assert all(name == MODULES[name].SIGNAL for name in ALL_SIGNALS)
    assert tuple(MODULES.values())[:-1] == INDEPENDENT and MODULES["bottom_range"] is bottom_range
