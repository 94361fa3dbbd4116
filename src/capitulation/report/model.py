"""The report's content, one structure for every renderer (terminal, JSON, HTML)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from capitulation import tables
from capitulation.analytics.levels import Level, ladder
from capitulation.signals import Thresholds, evaluate_all
from capitulation.signals.common import spot
from capitulation.snapshot import Snapshot
from capitulation.verdict import Verdict


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    latest: pd.Timestamp
    age_days: float
    source: str
    retrieved_at: str
    licence: str
    notes: str
    synthetic: bool


@dataclass(frozen=True)
class Report:
    as_of: pd.Timestamp
    spot: float | None
    verdicts: list[Verdict]
    ladder: list[tuple[Level, float]]
    tables: list[TableInfo]
    absent: list[str]


def short_source(source: str) -> str:
    """A provenance source list shortened for a terminal: 'folder/file' or 'folder/ (N files)' per folder."""
    by_dir: dict[str, list[str]] = {}
    for part in source.split("; "):
        p = Path(part)
        by_dir.setdefault(p.parent.name, []).append(p.name)
    return "; ".join(f"{d}/{f[0]}" if len(f) == 1 else f"{d}/ ({len(f)} files)" for d, f in by_dir.items())


def build(snap: Snapshot, thresholds: Thresholds | None = None) -> Report:
    """Evaluate the eight signals on `snap` (with `thresholds` per signal, else the defaults) and gather the
    levels ladder and each table's date."""
    verdicts = evaluate_all(snap, thresholds)
    s = spot(snap)
    levels = list(dict.fromkeys(lv for v in verdicts for lv in v.levels))  # every signal's levels, once
    infos = []
    for name, latest in sorted(snap.table_dates().items()):
        p = snap.provenance[name]
        age = snap.age_days(name)
        infos.append(
            TableInfo(
                name, len(snap.tables[name]), latest, age, p.source, p.retrieved_at, p.licence, p.notes, p.synthetic
            )
        )
    absent = sorted(set(tables.TABLES) - {i.name for i in infos})
    return Report(snap.as_of, s, verdicts, ladder(levels, s) if s else [], infos, absent)


def as_json(rep: Report) -> dict[str, object]:
    """Machine-readable report with stable keys: the same content as the terminal table."""
    info = {i.name: i for i in rep.tables}
    return {
        "as_of": rep.as_of.isoformat(),
        "spot_usd": rep.spot,
        "signals": [_with_ages(v.as_dict(), info) for v in rep.verdicts],
        "levels": [
            {"price_usd": lv.price, "distance": d, "label": lv.label, "signal": lv.signal, "tables": list(lv.tables)}
            for lv, d in rep.ladder
        ],
        "tables": {
            i.name: {k: v for k, v in asdict(i).items() if k != "name"} | {"latest": i.latest.isoformat()}
            for i in rep.tables
        },
        "absent_tables": rep.absent,
    }


def _with_ages(verdict: dict[str, object], info: dict[str, TableInfo]) -> dict[str, object]:
    """A verdict's dict with `table_ages`: for each table it used, the table's latest date and its age in
    days at as_of (None for a table the snapshot lacks)."""
    ages = {
        t: None if t not in info else {"latest": info[t].latest.isoformat(), "age_days": info[t].age_days}
        for t in verdict["tables"]  # type: ignore[union-attr]
    }
    return verdict | {"table_ages": ages}
