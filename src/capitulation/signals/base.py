"""The verdict every signal gives when its data cannot decide."""

from __future__ import annotations

import pandas as pd

from capitulation.verdict import Status, Verdict


def not_enough_data(signal: str, title: str, as_of: pd.Timestamp, why: str, *evidence: str) -> Verdict:
    """The honest answer when a table is absent, stale or too short."""
    return Verdict(signal, title, Status.NOT_ENOUGH_DATA, why, as_of, evidence=tuple(evidence))
