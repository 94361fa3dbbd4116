"""Issue 15: `crossasset`, `sectors`, `hedge`, `mnav` and `mining` keep their document in the document cache
(`cli.common.command_document`): a warm run prints what a computed one prints (terminal and --json) without
loading the snapshot or analysing it, and imports neither pandas nor the signals; an option that changes the
output is another entry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capitulation.analytics import hedge_desk
from capitulation.analytics import mining as mi
from capitulation.analytics import treasury as tr
from capitulation.cli import app, calculators, common
from capitulation.signals import cross_asset, sector_rotation
from capitulation.signals import treasury as signals_treasury

DAY = ["--as-of", "2026-02-05"]
"""The recorded data's default day (the saved snapshot runs to the end of the data)."""
CASES = {
    "crossasset": (["crossasset"], ["--as-of", "2025-04-07"], cross_asset, "cross_asset"),
    "sectors": (["sectors"], ["--as-of", "2022-11-10"], sector_rotation, "sectors"),
    "hedge": (["hedge"], [*DAY, "--horizon", "4w", "--delta", "0.1", "--proxy", "mstr"], hedge_desk, "desk"),
    "mnav": (["mnav"], ["--as-of", "2025-04-07"], signals_treasury, "company_table"),
    "mining": (["mining"], [*DAY, "--power-usd-kwh", "0.05"], mi, "cost_floors"),
    "mining one rig": (["mining", "--efficiency-jth", "17.5"], [*DAY, "--power-usd-kwh", "0.05"], mi, "shutdown_price"),
}
"""Each case: the command line (run at `DAY`), the options of another output, the analysis a warm run must not
call."""
EDIT = '\n[[company]]\nticker = "MSTR"\nas_of = "2026-02-05"\nsource = "a test\'s edit"\nbtc_held = 700_000\n'
"""A capital-stack entry that changes MSTR's holdings on 2026-02-05."""
LIGHT = ("pandas", "numpy", "numba", "capitulation.signals", "capitulation.analytics", "capitulation.snapshot")


@pytest.fixture(scope="module")
def full(recorded_full, tmp_path_factory) -> str:
    """Every recorded table, saved once as a snapshot folder (cheaper to load than parsing the data)."""
    return str(recorded_full.save(tmp_path_factory.mktemp("snap") / "full"))


def outputs(*args: str) -> tuple[str, str]:
    """The terminal view (120 columns) and the --json text of `capitulation ARGS`."""
    runner = CliRunner()
    out = []
    for extra in ([], ["--json"]):
        res = runner.invoke(app, [*args, *extra], env={"COLUMNS": "120"})
        assert res.exit_code == 0, res.output
        out.append(res.stdout)
    return out[0], out[1]


def not_computed(monkeypatch, module: object, name: str) -> None:
    """From now on, loading a snapshot or calling `module.name` fails the test."""

    def boom(*_, **__):
        raise AssertionError("the document was computed, not read from the cache")

    monkeypatch.setattr(common, "load_snapshot", boom)
    monkeypatch.setattr(module, name, boom)


@pytest.mark.parametrize("case", CASES)
def test_a_warm_run_prints_the_computed_one_and_an_option_is_another_entry(case, full, cached, monkeypatch):
    args, other, module, name = CASES[case]
    base, another = [*args, "--snapshot", full, *DAY], [*args, "--snapshot", full, *other]
    computed = outputs(*base, "--no-cache")
    computed_other = outputs(*another, "--no-cache")
    assert not cached.exists()  # --no-cache neither reads nor writes it
    assert computed_other[0] != computed[0] and json.loads(computed_other[1]) != json.loads(computed[1])
    assert outputs(*base) == computed  # cold: computed and kept
    assert outputs(*another) == computed_other  # another entry, not the first one's document
    not_computed(monkeypatch, module, name)
    assert outputs(*base) == computed
    assert outputs(*another) == computed_other


def test_the_seed_preset_with_data_and_a_stack_file_are_entries_of_their_own(
    shared_data, cached, tmp_path, monkeypatch
):
    """`mnav --preset seed --data` reads MSTR at the seed's day; --stack FILE keys by the file's content."""
    stack = tmp_path / "stack.toml"
    stack.write_text((Path(tr.__file__).parents[1] / "data" / "treasuries.toml").read_text())
    seed = ["mnav", "--preset", "seed", "--data", str(shared_data)]
    table = ["mnav", "--data", str(shared_data), "--stack", str(stack)]
    computed = outputs(*seed, "--no-cache"), outputs(*table, "--no-cache")
    assert json.loads(computed[0][1])["mstr_recorded"]["ticker"] == "MSTR"
    assert f"capital-stack file: {stack}" in computed[1][0].replace("\n", "")
    assert (outputs(*seed), outputs(*table)) == computed  # cold
    with stack.open("a") as f:  # another content, same path: computed again
        f.write(EDIT)
    edited = outputs(*table)
    assert edited == outputs(*table, "--no-cache")
    assert "700,000" in edited[0] and "700,000" not in computed[1][0]
    not_computed(monkeypatch, signals_treasury, "company_table")
    assert (outputs(*seed), outputs(*table)) == (computed[0], edited)


def test_the_seed_day_is_the_analytics_one():
    assert calculators.SEED_DATE == tr.SEED_DATE


@pytest.mark.parametrize("case", ["crossasset", "sectors", "hedge", "mnav", "mining"])
def test_a_warm_run_imports_neither_pandas_nor_the_analysis(case, full, cached):
    """The console script in a fresh interpreter, second run: the modules of `LIGHT` it imported."""
    args = [*CASES[case][0], "--snapshot", full, *DAY]
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print(json.dumps([m for m in {LIGHT!r} if m in sys.modules]), file=sys.stderr))\n"
        f"sys.argv = ['capitulation', *{args!r}]\n"
        "from capitulation.cli import main\n"
        "main()\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300) for _ in "12"]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    assert runs[1].stdout == runs[0].stdout
    assert "pandas" in json.loads(runs[0].stderr.splitlines()[-1])  # the cold run computed
    assert json.loads(runs[1].stderr.splitlines()[-1]) == []
