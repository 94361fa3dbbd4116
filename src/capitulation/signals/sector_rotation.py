"""Signal 5, sector rotation: is crypto leadership narrow (a few sectors beating BTC while the rest bleed)?"""

from __future__ import annotations

from dataclasses import dataclass

from capitulation.analytics.sectors import basket_log_returns, relative_strength
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, age_days, closes, pct
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "sector_rotation", "Sector rotation"
# The sectors the thesis names, and the source labels that stand for them (None: not covered).
NAMED_SECTORS: dict[str, str | None] = {
    "prediction markets": None,
    "RWA": None,
    "L2": "eth_scaling",
    "GameFi": "metaverse_gaming",
    "SocialFi": None,
}


@dataclass(frozen=True)
class Thresholds:
    max_leaders: int = 2  # narrow leadership: at most two sectors beat BTC over 30 days
    max_age_days: float = 3.0


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    sr = snap.get("sector_returns")
    age = age_days(snap, "sector_returns")
    btc = closes(snap, BTC)
    if sr is None or btc.empty:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no sector returns or BTC prices")
    if age is not None and age > th.max_age_days:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"sector returns are {age:.0f} days old")
    rs = relative_strength(basket_log_returns(sr), btc).dropna(subset=["vs_btc_30d"])
    if rs.empty:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no sector with 30 days of returns")
    t = ("sector_returns", "daily_prices")
    leaders = rs[rs["vs_btc_30d"] > 0]
    metrics = [Metric(f"{s}_vs_btc_30d", float(r.vs_btc_30d), "fraction", t) for s, r in rs.iterrows()]
    metrics.append(Metric("sectors_beating_btc_30d", float(len(leaders)), "count", t))
    evidence = [
        f"{s}: 30d {pct(r.return_30d)}, vs BTC {pct(r.vs_btc_30d)}; 7d vs BTC {pct(r.vs_btc_7d)}"
        for s, r in rs.iterrows()
    ]
    covered = {k: v for k, v in NAMED_SECTORS.items() if v is not None and v in rs.index}
    missing = [k for k in NAMED_SECTORS if k not in covered]
    evidence.append(
        "thesis sectors covered: "
        + (", ".join(f"{k} ({v})" for k, v in covered.items()) or "none")
        + f"; not enough data for: {', '.join(missing)}"
    )
    holds = 0 < len(leaders) <= th.max_leaders
    top = ", ".join(f"{s} {pct(r.vs_btc_30d)}" for s, r in rs.head(2).iterrows())
    headline = f"{len(leaders)} of {len(rs)} sectors beat BTC over 30d; leaders: {top}"
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
