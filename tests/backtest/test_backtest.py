"""`capitulation backtest` on the recorded data: the same verdicts as `report --as-of`, stored and resumed,
clear errors for dates outside the data, the scorecard in and out of sample."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from capitulation.backtest import run
from capitulation.backtest.score import backtest
from capitulation.cli import app
from capitulation.errors import DataError
from capitulation.signals import ALL_SIGNALS, leverage_flush
from capitulation.sources import recorded
from capitulation.store import HistoryStore

runner = CliRunner()


@pytest.fixture(scope="module")
def sample_days(recorded_full):
    """12 random dates of 2019-2026 (a fixed seed), as backtest as_of times."""
    last = run.data_range(recorded_full)[1]
    rng = np.random.default_rng(12)
    span = (last - pd.Timestamp("2019-01-01", tz="UTC")).days
    days = sorted({pd.Timestamp("2019-01-01", tz="UTC") + pd.Timedelta(days=int(d)) for d in rng.integers(0, span, 12)})
    return pd.DatetimeIndex(days) + pd.Timedelta(hours=23, minutes=59, seconds=59)


def test_backtest_gives_report_as_of_verdicts_on_twelve_random_dates(recorded_full, shared_data, sample_days, tmp_path):
    tl = run.timeline(recorded_full, sample_days, store=HistoryStore(tmp_path / "db"))
    assert tl.computed == 12 and tl.resumed == 0 and len(tl.rows) == 12 * 8
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recorded, "build_snapshot", lambda data, cut, **_: recorded_full.upto(cut))
        for day in sample_days:
            res = runner.invoke(
                app, ["report", "--data", str(shared_data), "--as-of", f"{day:%Y-%m-%d}", "--json", "--no-store"]
            )
            assert res.exit_code == 0, res.output
            rep = {s["signal"]: s for s in json.loads(res.stdout)["signals"]}
            rows = tl.rows[tl.rows["as_of"] == day].set_index("signal")
            for sig in ALL_SIGNALS:
                assert rows.loc[sig, "status"] == rep[sig]["status"], (day, sig)
                assert rows.loc[sig, "headline"] == rep[sig]["headline"], (day, sig)
                shown = [{k: v for k, v in m.items() if k not in ("label", "text")} for m in rep[sig]["metrics"]]
                assert json.loads(rows.loc[sig, "metrics_json"]) == shown, (day, sig)  # the JSON adds labels


def test_an_interrupted_run_resumes_without_recomputing(recorded_full, sample_days, tmp_path, monkeypatch):
    hs = HistoryStore(tmp_path / "db")
    first = run.timeline(recorded_full, sample_days[:5], store=hs)
    calls = []
    real = run.evaluate_dates
    monkeypatch.setattr(
        run, "evaluate_dates", lambda full, days, th=None: calls.append(len(days)) or real(full, days, th)
    )
    again = run.timeline(recorded_full, sample_days[:7], store=hs)
    assert (again.computed, again.resumed) == (2, 5) and calls == [2]  # only the two dates not stored
    pd.testing.assert_frame_equal(
        again.rows[again.rows["as_of"].isin(sample_days[:5])].reset_index(drop=True), first.rows
    )
    fixed = {"leverage_flush": leverage_flush.Thresholds(flush_ratio=0.3)}
    other = run.timeline(recorded_full, sample_days[:1], fixed, store=hs)
    assert other.key != first.key and other.computed == 1  # other thresholds: another run, nothing reused


def test_dates_outside_the_data_name_its_range(recorded_full):
    first, last = run.data_range(recorded_full)
    with pytest.raises(
        DataError, match=rf"outside the data: the data's BTC-USD closes run {first:%Y-%m-%d}\.\.{last:%Y-%m-%d}"
    ):
        run.dates(recorded_full, "2010-01-01", "2020-01-01")
    with pytest.raises(DataError, match="outside the data"):
        run.dates(recorded_full, "2026-01-01", "2027-01-01")
    with pytest.raises(DataError, match="empty: --from 2024-02-01 is after --to 2024-01-01"):
        run.dates(recorded_full, "2024-02-01", "2024-01-01")
    with pytest.raises(DataError, match="whole number of days"):
        run.dates(recorded_full, "2024-01-01", "2024-02-01", every="6h")
    d = run.dates(recorded_full, "2024-01-01", "2024-01-31", every="7d")
    assert list(d.strftime("%Y-%m-%d %H:%M:%S")) == [f"2024-01-{x:02d} 23:59:59" for x in (1, 8, 15, 22, 29)]


def test_scorecard_in_and_out_of_sample_never_lets_a_threshold_see_its_period(recorded_full, tmp_path):
    days = run.dates(recorded_full, "2024-04-24", "2024-09-12", every="7d")
    split = pd.Timestamp("2024-07-01", tz="UTC")
    bt = backtest(recorded_full, days, split, store=HistoryStore(tmp_path / "db"))
    assert bt.fitted["leverage_flush"].flush_ratio is not None  # fixed at the split
    fixed = bt.fixed.rows
    flush = fixed[fixed["signal"] == "leverage_flush"]["metrics_json"].map(json.loads)
    thresholds = {m["value"] for ms in flush for m in ms if m["name"] == "flush_threshold"}
    assert thresholds == {bt.fitted["leverage_flush"].flush_ratio}  # the same threshold on every date
    assert bt.in_sample.end < split <= bt.out_of_sample.start
    assert bt.in_sample.troughs == (pd.Timestamp("2024-05-01", tz="UTC"),)
    assert bt.out_of_sample.troughs == (pd.Timestamp("2024-07-07", tz="UTC"), pd.Timestamp("2024-09-06", tz="UTC"))
    cmp = bt.comparison()
    assert list(cmp.index) == list(ALL_SIGNALS)
    assert (
        cmp.loc["bottom_range", "trough_hit_rate_oos"]
        == bt.out_of_sample.signals.loc["bottom_range", "trough_hit_rate"]
    )


def test_backtest_command_json_and_errors(shared_data, tmp_path):
    args = ["backtest", "--data", str(shared_data), "--db", str(tmp_path / "db"), "--json", "--workers", "0"]
    res = runner.invoke(
        app,
        [*args, "--from", "2024-07-01", "--to", "2024-07-20", "--every", "5d", "--out", str(tmp_path / "t.parquet")],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["from"] == "2024-07-01" and doc["to"] == "2024-07-16" and doc["dates"]["dates"] == 4
    assert doc["split"] == "2024-01-01" and doc["in_sample"] is None  # the whole range is after the split
    assert [s["signal"] for s in doc["out_of_sample"]["signals"]] == list(ALL_SIGNALS)
    stored = pd.read_parquet(tmp_path / "t.parquet")
    assert len(stored) == 4 * 8 and set(stored["signal"]) == set(ALL_SIGNALS)
    again = json.loads(
        runner.invoke(app, [*args, "--from", "2024-07-01", "--to", "2024-07-20", "--every", "5d"]).stdout
    )
    assert again["dates"]["computed"] == 0 and again["dates"]["from_store"] == 8  # both timelines resumed
    bad = runner.invoke(app, [*args, "--from", "2009-01-01"])
    assert bad.exit_code == 2 and "outside the data" in bad.output and "Traceback" not in bad.output


def test_a_backtest_labels_its_walk_forward_run_for_the_pictures(recorded_full, tmp_path):
    from capitulation.store import WALK_FORWARD

    hs = HistoryStore(tmp_path / "db")
    days = run.dates(recorded_full, "2024-07-01", "2024-07-03")
    bt = backtest(recorded_full, days, pd.Timestamp("2024-01-01", tz="UTC"), store=hs)
    kinds = hs.backtest_runs().set_index("run")["kind"]
    assert kinds[bt.live.key] == WALK_FORWARD and kinds[bt.fixed.key] == "fitted before 2024-01-01"
