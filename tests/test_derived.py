"""Prepared histories (`Snapshot.derived`): a history computed once on the full record and cut at a date
equals, bit for bit, the same history computed on the snapshot cut at that date; and the eight verdicts are
the same with and without them (the fast path of `capitulation backtest` against a plain recomputation)."""

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from capitulation.errors import CapitulationError
from capitulation.signals import evaluate_all
from capitulation.snapshot import Derived, Snapshot, parse_as_of

# Month-ends, the troughs and peaks of the 20 %+ drawdowns (COMMON.md) and days between, 2019-2026.
DAYS = [
    "2019-01-31", "2019-09-30", "2020-02-12", "2020-03-12", "2020-12-31", "2021-01-27", "2021-04-13",
    "2021-06-08", "2021-09-21", "2021-11-08", "2022-01-22", "2022-06-18", "2022-11-21", "2023-07-13",
    "2023-09-11", "2024-03-13", "2024-05-01", "2024-09-06", "2025-01-21", "2025-04-08", "2025-10-06",
    "2026-02-05", "2026-02-28", "2026-08-31",
]  # fmt: skip
RANDOM_DAYS = sorted(pd.Timestamp("2019-01-01") + pd.to_timedelta(np.random.default_rng(15).integers(0, 2800, 40), "D"))


def plain(snap: Snapshot) -> Snapshot:
    """The same tables and as_of with no origin: every history computed on this snapshot itself."""
    return Snapshot(snap.as_of, snap.tables, snap.provenance, snap.sources)


def prepared(snap: Snapshot) -> dict[tuple, object]:
    """The prepared histories a snapshot holds: (Derived, *args) -> value."""
    return {k: v for k, v in snap._cache.items() if isinstance(k, tuple) and isinstance(k[0], Derived)}


def assert_identical(a: object, b: object, where: str) -> None:
    """Equal values, types and float bits (NaN equal to NaN), through frames, arrays and dataclasses."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, pd.DataFrame):
        pdt.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pdt.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Index):
        pdt.assert_index_equal(a, b, exact=True, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float):
        assert repr(a) == repr(b) or (math.isnan(a) and math.isnan(b)), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


@pytest.fixture(scope="module")
def evaluated(recorded_full):
    """Per day: the cut snapshot (prepared histories) and its verdicts, and the plain snapshot's verdicts."""
    out = {}
    for day in DAYS:
        fast = recorded_full.upto(parse_as_of(day))
        slow = plain(fast)
        out[day] = (fast, evaluate_all(fast), evaluate_all(slow))
    return out


def test_the_eight_verdicts_are_the_same_with_prepared_histories_as_computed_on_the_cut_snapshot(evaluated):
    for day, (_, fast, slow) in evaluated.items():
        for a, b in zip(fast, slow, strict=True):
            assert repr(a.as_dict()) == repr(b.as_dict()), f"{day} {a.signal}"


def test_every_prepared_history_cut_at_a_date_is_the_history_computed_on_the_snapshot_cut_there(
    evaluated, recorded_full
):
    used = {k for fast, _, _ in evaluated.values() for k in prepared(fast)}
    assert len({k[0].name for k in used}) >= 2  # the signals do use prepared histories
    for day in [*DAYS, *(f"{d:%Y-%m-%d}" for d in RANDOM_DAYS)]:
        fast = recorded_full.upto(parse_as_of(day))
        slow = plain(fast)
        for history, *args in sorted(used, key=repr):
            try:
                expected = history.compute(slow, *args)
            except KeyError as exc:  # a table the cut snapshot lacks: the signals ask only when it is present
                assert exc.args[0] not in slow.tables
                continue
            except CapitulationError as exc:  # a history the cut snapshot is too short for: the same error
                with pytest.raises(type(exc), match=re.escape(str(exc))):
                    fast.derived(history, *args)
                continue
            assert_identical(fast.derived(history, *args), expected, f"{day} {history.name}{tuple(args)}")


def test_a_snapshot_cut_from_a_cut_snapshot_prepares_its_histories_on_the_first_origin(recorded_full):
    a = recorded_full.upto(parse_as_of("2024-05-01"))
    b = a.upto(parse_as_of("2023-01-01"))
    assert b.origin is a.origin is not None
    later = a.upto(parse_as_of("2025-01-01"))  # nothing more is known: a's tables, a's history
    assert later.origin is a
    assert all(df.equals(a.tables[n]) for n, df in later.tables.items())


def test_a_pickled_snapshot_leaves_its_origin_and_prepared_histories_behind(recorded_full):
    import pickle

    snap = recorded_full.upto(parse_as_of("2022-06-18"))
    evaluate_all(snap)
    back = pickle.loads(pickle.dumps(snap))
    assert back.origin is None and back._cache == {}
    assert list(back.tables) == list(snap.tables)
    assert [repr(v.as_dict()) for v in evaluate_all(back)] == [repr(v.as_dict()) for v in evaluate_all(snap)]
