"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests judge values, never time: no per-example deadline (a loaded 2-core machine is slow).
settings.register_profile("capitulation", deadline=None)
settings.load_profile("capitulation")


@pytest.fixture(scope="session", autouse=True)
def table_cache_dir(tmp_path_factory) -> Path:
    """The parsed-table cache of every command run by the tests (in-process or as a subprocess): a folder
    of this session, never the user's cache."""
    path = tmp_path_factory.mktemp("table-cache")
    os.environ["CAPITULATION_CACHE_DIR"] = str(path)
    return path


@pytest.fixture
def cached(tmp_path, monkeypatch) -> Path:
    """A cache folder of this test only (parsed tables and command documents), for tests that count what a
    command computes or reads back."""
    monkeypatch.setenv("CAPITULATION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The recorded real data folder, ../shared/data beside the repository; skip when it is absent."""
    path = (Path(__file__).parents[1] / "../shared/data").resolve()
    if not path.is_dir():
        pytest.skip(f"shared data folder not found: {path}")
    return path


@pytest.fixture(scope="session")
def recorded_full(shared_data):
    """Every recorded table, uncut (as of the end of the data), built once per test session."""
    from capitulation.sources.recorded import build_snapshot

    return build_snapshot(shared_data, "2100-01-01")


@pytest.fixture(scope="session")
def default_snapshot(recorded_full):
    """The default snapshot: the recorded data as of the end of 2026-02-05 UTC."""
    from capitulation.sources.recorded import DEFAULT_AS_OF

    return recorded_full.upto(DEFAULT_AS_OF)


@pytest.fixture
def http(tmp_path):
    """An empty tape replayed through vcrpy for this test (`replay.HttpReplay`): a request with no recorded
    answer fails, nothing reaches the network. Its `folder` also replays Yahoo frames (`folder/yahoo`)."""
    from replay import replayed

    with replayed(tmp_path / "tape") as replay:
        yield replay


@pytest.fixture(scope="session")
def timeline_2024(recorded_full):
    """The real verdict timeline of every day 2024-07-01..2024-08-31 (62 dates, the eight verdicts each as
    `report --as-of` gives them; about a minute), computed once per test session."""
    from capitulation.backtest import run

    return run.timeline(recorded_full, run.dates(recorded_full, "2024-07-01", "2024-08-31"))
