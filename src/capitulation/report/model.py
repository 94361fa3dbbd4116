"""The report's content, one structure for every renderer (terminal, JSON, HTML)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from capitulation import tables
from capitulation.analytics.levels import Level, ladder
from capitulation.report import text
from capitulation.signals import labels
from capitulation.signals.common import BTC, closes, spot
from capitulation.snapshot import Snapshot
from capitulation.verdict import Verdict

if TYPE_CHECKING:
    from capitulation.signals import Thresholds


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
class SpotInfo:
    """Where the header's spot comes from: the BTC-USD close the signals use, its date, its age at as_of
    (days from the end of its day), and the file(s) of the BTC-USD series (the substitution, if any, is
    stated there: e.g. btc_ohlc.csv read because no other file gave BTC-USD rows)."""

    date: pd.Timestamp
    age_days: float
    source: str


@dataclass(frozen=True)
class Report:
    as_of: pd.Timestamp
    spot: float | None
    verdicts: list[Verdict]
    ladder: list[tuple[Level, float]]
    tables: list[TableInfo]
    absent: list[str]
    spot_info: SpotInfo | None = None


def spot_text(rep: Report) -> str:
    """The header's spot: 'BTC $62,702', with the close's date, age and file when it is not today's close;
    '' without BTC prices (`text.spot_line`)."""
    return spot_line(rep.spot, rep.spot_info)


def spot_line(price: float | None, info: SpotInfo | None) -> str:
    """`spot_text` from the spot and its `spot_info` alone (no signals evaluated)."""
    if info is None:
        return text.spot_line(price, "", 0.0, "")
    return text.spot_line(price, f"{info.date:%Y-%m-%d}", info.age_days, info.source)


def build(snap: Snapshot, thresholds: Thresholds | None = None) -> Report:
    """Evaluate the eight signals on `snap` (with `thresholds` per signal, else the defaults) and gather the
    levels ladder and each table's date."""
    from capitulation.signals import evaluate_all  # the eight signals load here, not with the report's types

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
    return Report(snap.as_of, s, verdicts, ladder(levels, s) if s else [], infos, absent, spot_info(snap))


def spot_info(snap: Snapshot) -> SpotInfo | None:
    """The date, age and source file(s) of the BTC-USD close that is `signals.common.spot` (None without)."""
    px = closes(snap, BTC)
    if px.empty:
        return None
    day = px.index[-1]
    age = (snap.as_of - (day + tables.DAY_CLOSE)).total_seconds() / 86400.0
    prov = snap.provenance["daily_prices"]
    parts = prov.notes.split(" | ") if "; " in prov.source else [f"[{Path(prov.source).name}] {prov.notes}"]
    files = [p[1 : p.index("]")] for p in parts if p.startswith("[") and f"symbol {BTC!r}" in p and "Not used" not in p]
    return SpotInfo(day, age, ", ".join(files) or prov.source)


def as_json(rep: Report) -> dict[str, object]:
    """Machine-readable report with stable keys: the same content as the terminal table."""
    info = {i.name: i for i in rep.tables}
    return {
        "as_of": rep.as_of.isoformat(),
        "spot_usd": rep.spot,
        "spot": None
        if rep.spot_info is None
        else {
            "usd": rep.spot,
            "close_date": rep.spot_info.date.isoformat(),
            "age_days": rep.spot_info.age_days,
            "source": rep.spot_info.source,
        },
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
    days at as_of (None for a table the snapshot lacks); each metric with its human `label` and `text` (the
    value in its unit) from the registry the terminal and dashboard use (`signals.labels`)."""
    ages = {
        t: None if t not in info else {"latest": info[t].latest.isoformat(), "age_days": info[t].age_days}
        for t in verdict["tables"]  # type: ignore[union-attr]
    }
    metrics = [
        m | dict(zip(("label", "text"), labels.describe(m["name"], m["value"]), strict=True))
        for m in verdict["metrics"]
    ]  # type: ignore[union-attr,index]
    return verdict | {"metrics": metrics, "table_ages": ages}
