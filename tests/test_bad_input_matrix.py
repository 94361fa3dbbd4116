"""The bad-input matrix (tests/badinput.py): every importer of the recorded data, one corrupted file at a
time, through `report --json`'s path; none may end in a traceback or change the report without saying so.
`pytest -s` prints the counts per class and the cases behind them (also: `python tests/badinput.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import capitulation
from badinput import CLASSES, Matrix, summary


@pytest.fixture(scope="module")
def matrix(shared_data, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        m = Matrix.prepare(shared_data, tmp_path_factory.mktemp("matrix"), mp)
        cases = m.all_cases()
    print("\n" + summary(cases))
    return m, cases, m.again


def _listed(cases, cls):
    return "\n".join(f"{c.file} [{c.mutation}]: {c.detail}" for c in cases if c.cls == cls)


def test_every_importer_meets_every_mutation_and_the_clean_report_survives(matrix):
    m, cases, again = matrix
    # in no worker did a case leak into the clean tables, memoized reads or prepared histories
    assert again and set(again) == {m.baseline}
    files = {c.file for c in cases}
    folders = {Path(f).parts[0] for f in files}
    assert len(files) >= 20 and {"deribit_options", "prices_daily", "bitcoin_network", "etf_flows"} <= folders
    for mutation in ("empty", "binary garbage", "truncated", "a directory", "a symlink loop", "BOM"):
        assert {c.file for c in cases if c.mutation == mutation} == files, mutation
    assert {c.cls for c in cases} <= set(CLASSES)


def test_no_corrupted_file_ends_in_a_traceback(matrix):
    _, cases, _ = matrix
    assert not any(c.cls == "traceback" for c in cases), _listed(cases, "traceback")


def test_no_corrupted_file_changes_the_report_silently(matrix):
    _, cases, _ = matrix
    assert not any(c.cls == "changed silently" for c in cases), _listed(cases, "changed silently")


def test_every_error_names_the_corrupted_file(matrix):
    _, cases, _ = matrix
    assert not any(c.cls == "unclear error" for c in cases), _listed(cases, "unclear error")


CLI_CASES = 3


def test_the_cli_prints_the_same_one_line_error_and_exits_2(matrix):
    """A few clean errors of the first table loaded, through the real command in a subprocess."""
    m, cases, _ = matrix
    first = next(c.file for c in cases)
    errors = [c for c in cases if c.file == first and c.cls == "clean error"]
    chosen = [errors[i * (len(errors) - 1) // (CLI_CASES - 1)] for i in range(CLI_CASES)]
    env = {**os.environ, "PYTHONPATH": str(Path(capitulation.__file__).parents[1])}
    cmd = [sys.executable, "-m", "capitulation", "report", "--data", str(m.mirror.root), "--json", "--no-store"]
    for c in chosen:
        with m.mirror.replaced(c.file, c.make):
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
        assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: {c.detail}\n"), c.mutation
