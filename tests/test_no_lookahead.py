"""`--as-of` runs the same code on data up to that date only: changing the future changes nothing."""

import numpy as np
import pandas as pd
import pytest

from capitulation import tables
from capitulation.report.model import as_json, build
from capitulation.snapshot import Snapshot, parse_as_of


def tamper_after(snap: Snapshot, cut: pd.Timestamp) -> Snapshot:
    """Multiply every number after `cut` by 10 where that stays in its column's valid range (a delta of 0.5
    stays 0.5): a different future the contract still accepts."""
    out = {}
    for name, df in snap.tables.items():
        df = df.copy()
        spec = tables.spec(name)
        later = spec.known_at(df) > cut
        for col in spec.columns:
            if df[col.name].dtype == np.float64:
                tenfold = df.loc[later, col.name] * 10
                df.loc[later, col.name] = tenfold.where(~col.out_of_range(tenfold), df.loc[later, col.name])
        out[name] = df
    return Snapshot(snap.as_of, out, snap.provenance)


@pytest.mark.parametrize("day", ["2026-01-24", "2026-02-05", "2026-02-05T12:00", "2025-11-21"])
def test_the_future_does_not_change_a_past_report(recorded_full, day):
    cut = parse_as_of(day)
    past = recorded_full.upto(cut)
    for name, df in past.tables.items():
        assert tables.spec(name).known_at(df).max() <= cut, name
    a = as_json(build(past))
    b = as_json(build(tamper_after(recorded_full, cut).upto(cut)))
    assert a == b
    assert all(s["as_of"] == cut.isoformat() for s in a["signals"])
