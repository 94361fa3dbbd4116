"""Thresholds as configuration: the bundled TOML is every default; a user file overrides; fit_all fixes the
learned thresholds at a date's values."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from capitulation.errors import DataError, SourceError
from capitulation.signals import MODULES, config, evaluate_all, fit_all
from capitulation.verdict import Status


def test_the_bundled_file_lists_every_scalar_threshold_at_its_default():
    loaded = config.load()
    for name, module in MODULES.items():
        assert loaded[name] == module.Thresholds(), name
    text = config.BUNDLED.read_text()
    for name in MODULES:
        for field in config.configurable(name):
            assert f"\n{field} = " in text.split(f"[{name}]")[1].split("\n[")[0], f"{name}.{field} not in the file"


def write(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "th.toml"
    f.write_text(body)
    return f


def test_a_user_file_overrides_what_it_names_and_keeps_the_rest(tmp_path: Path):
    th = config.load(write(tmp_path, "[leverage_flush]\nflush_ratio = 0.3\nlookback_days = 90\n[cross_asset]\n"))
    assert th["leverage_flush"].flush_ratio == 0.3 and th["leverage_flush"].lookback_days == 90
    assert th["leverage_flush"].fallback == 0.5  # not in the file: the default
    assert th["hedging"] == MODULES["hedging"].Thresholds()
    learned = config.load(write(tmp_path, '[options_stress]\ndvol_rank = "learned"\nrr25 = -0.04\n'))
    assert learned["options_stress"].dvol_rank is None and learned["options_stress"].rr25 == -0.04


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[leverage]\nflush_ratio = 0.3\n", r"unknown signal\(s\) leverage"),
        ("[leverage_flush]\nflush = 0.3\n", r"\[leverage_flush\] unknown field\(s\) flush"),
        ('[leverage_flush]\nlookback_days = "half a year"\n', r"\[leverage_flush\] lookback_days: expected int"),
        ("[leverage_flush]\nlookback_days = 90.5\n", r"lookback_days: expected int, got 90.5"),
        ('[leverage_flush]\nflush_ratio = "high"\n', r"flush_ratio: expected a number or 'learned'"),
        ("[options_stress]\ndealer = 3\n", r"dealer: expected str"),
        ("[leverage_flush\n", r"not valid TOML"),
    ],
)
def test_a_bad_file_names_file_section_and_key(tmp_path: Path, body: str, message: str):
    with pytest.raises(DataError, match=rf"th\.toml: .*{message}"):
        config.load(write(tmp_path, body))


def test_a_missing_file_is_a_source_error(tmp_path: Path):
    with pytest.raises(SourceError, match="thresholds file not found"):
        config.load(tmp_path / "nope.toml")


def test_report_takes_a_thresholds_file(shared_data, tmp_path: Path):
    import json

    from typer.testing import CliRunner

    from capitulation.cli import app

    f = write(tmp_path, "[leverage_flush]\nflush_ratio = 0.3\n")  # 36 % removed on 2026-02-05: flushed at 30 %
    res = CliRunner().invoke(
        app, ["report", "--data", str(shared_data), "--json", "--no-store", "--thresholds", str(f)]
    )
    assert res.exit_code == 0, res.output
    lev = json.loads(res.stdout)["signals"][0]
    assert lev["status"] == "holds" and any(
        m["name"] == "flush_threshold" and m["value"] == 0.3 for m in lev["metrics"]
    )
    bad = CliRunner().invoke(app, ["report", "--data", str(shared_data), "--thresholds", str(tmp_path / "x.toml")])
    assert bad.exit_code == 2 and "thresholds file not found" in bad.output


def test_fit_all_fixes_each_learned_threshold_at_the_value_the_date_learns(recorded_full):
    at = recorded_full.upto(pd.Timestamp("2023-12-31T23:59:59Z"))
    fitted = fit_all(at)
    learned = {
        "leverage_flush": ["flush_ratio"],
        "options_stress": ["dvol_rank"],
        "liquidity_levels": ["rank"],
        "sector_rotation": ["max_breadth"],
        "bottom_range": ["sth_ratio", "mvrv", "fleet_ratio"],
    }
    for name, fields in learned.items():
        for f in fields:
            assert getattr(MODULES[name].Thresholds(), f) is None and getattr(fitted[name], f) is not None, (name, f)
    for name in ("cross_asset", "treasury", "hedging"):
        assert fitted[name] == MODULES[name].Thresholds()  # nothing learned from past troughs
    # on the fitting date itself, fixed and learned thresholds give the same verdicts
    a = [v.as_dict() for v in evaluate_all(at)]
    b = [v.as_dict() for v in evaluate_all(at, fitted)]
    assert [(x["signal"], x["status"]) for x in a] == [(x["signal"], x["status"]) for x in b]
    assert a[0]["metrics"] == b[0]["metrics"]
    # a fitted threshold stays fixed later while a learned one moves with the history
    later = recorded_full.upto(pd.Timestamp("2025-04-08T23:59:59Z"))
    v_fixed = evaluate_all(later, fitted)[0]
    assert v_fixed.metric("flush_threshold").value == fitted["leverage_flush"].flush_ratio
    assert dataclasses.replace(fitted["leverage_flush"], flush_ratio=None) == MODULES["leverage_flush"].Thresholds()
    assert {v.status for v in evaluate_all(later, fitted)} <= set(Status)
