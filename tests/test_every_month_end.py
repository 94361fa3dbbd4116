"""`report --as-of` on every month-end the recorded data covers: exit 0, eight verdicts, no internal error,
and the signals the history must judge give a verdict (holds / does not hold) on at least 90 % of them."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from capitulation.cli import app
from capitulation.signals import ALL_SIGNALS, INTERNAL_ERROR
from capitulation.sources import recorded

MONTH_ENDS = [f"{d:%Y-%m-%d}" for d in pd.date_range("2019-01-31", "2026-08-31", freq="ME")]
JUDGED = ("2021-04-30", "2026-02-28")  # the span the data covers for every judged signal
DECISIVE = (
    "leverage_flush",
    "options_stress",
    "liquidity_levels",
    "sector_rotation",
    "treasury",
    "hedging",
    "bottom_range",
)


@pytest.fixture(scope="module")
def reports(recorded_full, shared_data):
    """The JSON report at every month-end, through the real CLI; the recorded files are parsed once
    (the CLI's `build_snapshot` is handed the parsed tables cut at the same as_of)."""
    runner = CliRunner()
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recorded, "build_snapshot", lambda data, cut, **_: recorded_full.upto(cut))
        for day in MONTH_ENDS:
            res = runner.invoke(app, ["report", "--data", str(shared_data), "--as-of", day, "--json", "--no-store"])
            out[day] = (res.exit_code, res.stdout if res.exit_code == 0 else res.output)
    return out


def test_every_month_end_reports_eight_verdicts_without_an_internal_error(reports):
    assert len(reports) == 92
    for day, (code, text) in reports.items():
        assert code == 0, f"{day}: {text}"
        doc = json.loads(text)
        assert [s["signal"] for s in doc["signals"]] == list(ALL_SIGNALS), day
        assert doc["as_of"].startswith(day)
        for s in doc["signals"]:
            assert not s["headline"].startswith(INTERNAL_ERROR), f"{day} {s['signal']}: {s['headline']}"
            assert s["status"] in ("holds", "does not hold", "not enough data")


@pytest.mark.parametrize("signal", DECISIVE)
def test_judged_signals_decide_on_nine_in_ten_month_ends(reports, signal):
    days = [d for d in MONTH_ENDS if JUDGED[0] <= d <= JUDGED[1]]
    statuses = {d: next(s for s in json.loads(reports[d][1])["signals"] if s["signal"] == signal) for d in days}
    undecided = {d: s["headline"] for d, s in statuses.items() if s["status"] == "not enough data"}
    assert len(undecided) <= 0.1 * len(days), undecided
    held = sum(s["status"] == "holds" for s in statuses.values())
    assert 0 < held < len(days) - len(undecided)  # it can hold and it can not hold
