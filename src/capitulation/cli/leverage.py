"""Leverage commands: `leverage` (OI, funding, flush, liquidation clusters) and `events` (the event study)."""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from capitulation.cli.common import (
    AsOfOpt,
    DataOpt,
    Doc,
    JsonOpt,
    NoCacheOpt,
    SnapshotOpt,
    app,
    command_document,
    console,
    examples,
    fail,
    handled,
    print_json,
    records,
)
from capitulation.errors import DataError
from capitulation.formats import stamp

if TYPE_CHECKING:
    from capitulation.signals.liquidity_levels import LiquidationMap
    from capitulation.snapshot import Snapshot


def _market_cap(snap: Snapshot) -> float | None:
    """BTC market cap (USD): last close x supply at the estimated block height; None without the data."""
    from capitulation.analytics.supply import estimated_height, supply_at_height
    from capitulation.signals.common import spot

    net, px = snap.get("btc_network"), spot(snap)
    if net is None or px is None:
        return None
    try:
        return px * supply_at_height(estimated_height(net))
    except DataError:
        return None


def _clusters(lm: LiquidationMap, top: int) -> dict[str, object]:
    """The liquidation map's block: its OI history, open mass, calibration and largest clusters."""
    from capitulation.signals import liquidity_levels

    long_fit, short_fit = lm.calibration
    long_oos, short_oos = lm.out_of_sample
    return {
        "model_venue": lm.venue,
        "spot": lm.spot,
        "oi_btc": lm.current.oi_btc,
        "open_btc": lm.current.open_btc,
        "calibration": {
            "source": None if lm.reference is None else lm.reference.name,
            "long": None if long_fit is None else long_fit.as_dict(),
            "short": None if short_fit is None else short_fit.as_dict(),
            "walk_forward_long": None if long_oos is None else long_oos.as_dict(),
            "walk_forward_short": None if short_oos is None else short_oos.as_dict(),
            "coverage": liquidity_levels.COVERAGE,
        },
        "below": records(lm.longs.head(top)),
        "above": records(lm.shorts.head(top)),
    }


@app.command(epilog=examples("leverage --top 10", "leverage --as-of 2025-04-07 --json"))
def leverage(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    top: int = 5,
    no_cache: NoCacheOpt = False,
) -> None:
    """Perp OI by venue, OI-weighted funding, the flush ratio and the largest liquidation clusters."""
    with handled():
        doc = command_document("leverage", data, snapshot, as_of, no_cache, partial(_leverage, top=top), top=top)
    if as_json:
        print_json(doc, doc["as_of"])
        return
    t = Table(title=f"Perp open interest by venue, as of {stamp(doc['as_of'])} UTC")
    for c in ("venue", "symbol", "OI time", "OI (BTC)", "OI (USD)", "funding / interval", "status"):
        t.add_column(c)
    for r in doc["venues"]:
        t.add_row(
            r["venue"],
            r["symbol"],
            "-" if r["oi_time"] is None else stamp(r["oi_time"]),
            "-" if r["oi_btc"] is None else f"{r['oi_btc']:,.0f}",
            r["text"]["oi_usd"],
            "-" if r["funding_rate"] is None else f"{r['funding_rate'] * 100:+.4f}% / {r['funding_interval_h']:g}h",
            "fresh" if r["fresh"] else f"stale ({_nan(r['age_days']):.0f} d)",  # 'nan d': no OI time
        )
    console.print(t)
    agg = doc["aggregate"]
    if agg["oi_usd"] is not None:
        console.print(
            f"aggregate over fresh venues: {agg['oi_btc']:,.0f} BTC, {agg['text']['oi_usd']}; "
            f"OI-weighted funding {agg['text']['funding_oi_weighted_annualised']} a year"
            + (f"; OI / BTC market cap {agg['oi_over_market_cap']:.2%}" if agg["oi_over_market_cap"] else "")
        )
    for v in doc["verdicts"]:
        console.print(f"[bold]{v['title']}[/bold]: {v['status']} - {v['headline']}")
        for line in v["evidence"]:
            console.print(f"   - {line}", highlight=False)
    clusters = doc["liquidation_clusters"]
    if clusters is not None:
        console.print(
            f"liquidation map on {clusters['model_venue']}: open mass {clusters['open_btc']:,.0f} BTC = OI "
            f"{clusters['oi_btc']:,.0f} BTC"
        )
        cal = clusters["calibration"]
        for side in ("long", "short"):
            fit, wf = cal[side], cal[f"walk_forward_{side}"]
            if fit is not None:
                console.print(
                    f"   calibration ({cal['source']}, trailing year) {side}s: correlation "
                    f"{fit['correlation']:.2f} (rank {fit['rank_correlation']:.2f}), scale {fit['scale']:.3f} "
                    f"over {fit['days']} days"
                    + (
                        ""
                        if wf is None
                        else f"; walk-forward since {wf['first'][:10]}: correlation {wf['correlation']:.2f}, "
                        f"observed / predicted {wf['scale']:.2f}"
                    ),
                    highlight=False,
                )


def _leverage(snap: Snapshot, top: int) -> Doc:
    """`leverage --json`'s document, with `text` (the USD and percent figures as the terminal words them) in
    each venue row and in `aggregate`."""
    from capitulation.analytics.leverage import oi_weighted_funding, venue_summary
    from capitulation.formats import pct, usd
    from capitulation.signals import leverage_flush, liquidity_levels
    from capitulation.tables import AGGREGATE

    perps = snap.get("perp_metrics")
    if perps is None:
        fail("the snapshot has no perp_metrics table")
    venues = venue_summary(perps, snap.as_of)
    market_cap = _market_cap(snap)
    flush = leverage_flush.evaluate(snap)
    liq = liquidity_levels.evaluate(snap)
    lm = liquidity_levels.liquidation_map(snap)
    fresh = venues[venues["fresh"] & (venues["venue"] != AGGREGATE)]  # all-exchange series are not a venue
    funding = oi_weighted_funding(venues)
    oi_usd = float(fresh["oi_usd"].sum()) if not fresh.empty else None
    return {
        "as_of": snap.as_of.isoformat(),
        "venues": [r | {"text": {"oi_usd": "-" if r["oi_usd"] is None else usd(r["oi_usd"])}} for r in records(venues)],
        "aggregate": {
            "venues": list(fresh["venue"] + " " + fresh["symbol"]),
            "oi_btc": float(fresh["oi_btc"].sum()) if not fresh.empty else None,
            "oi_usd": oi_usd,
            "funding_oi_weighted_annualised": funding,
            "oi_over_market_cap": oi_usd / market_cap if market_cap and oi_usd is not None else None,
            "market_cap_usd": market_cap,
            "market_cap_note": "BTC close x supply at the block height counted from the hashrate/difficulty history "
            "(an estimate within ~0.05 %)",
            # as the terminal words them, only when there are fresh venues
            "text": {
                "oi_usd": None if oi_usd is None else usd(oi_usd),
                "funding_oi_weighted_annualised": None if oi_usd is None else pct(funding),
            },
        },
        "flush": {"status": flush.status.value, "headline": flush.headline, **{m.name: m.value for m in flush.metrics}},
        "liquidation_clusters": None if isinstance(lm, str) else _clusters(lm, top),
        "verdicts": [flush.as_dict(), liq.as_dict()],
    }


def _nan(x: float | None) -> float:
    """A document's figure, an absent one (None: NaN in the frame `records` read) as NaN again."""
    return math.nan if x is None else x


def _liquidations_note(snap: Snapshot) -> str:
    """What the declines' liquidation columns hold, and the observed series' span."""
    from capitulation.signals import liquidity_levels

    observed = liquidity_levels.observed_liquidations(snap)
    if observed is None:
        return "no observed liquidations in the snapshot"
    return (
        f"observed BTC long liquidations (CoinGlass all-exchange aggregate, {observed.index[0]:%Y-%m-%d}.."
        f"{observed.index[-1]:%Y-%m-%d}) from the peak day to 3 days after the trough, with the largest day and "
        "its rank in its trailing year at the trough (signal 4's flush rank); '-' where the series does not "
        "cover the decline"
    )


@app.command(epilog=examples("events --threshold 0.3", "events --json"))
def events(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    threshold: Annotated[float, typer.Option(help="drawdown size, fraction")] = 0.2,
    no_cache: NoCacheOpt = False,
) -> None:
    """Every BTC drawdown of 20%+ in the history, with OI change and funding into the trough."""
    compute = partial(_events, threshold=threshold)
    with handled():
        doc = command_document("events", data, snapshot, as_of, no_cache, compute, threshold=threshold)
    if as_json:
        print_json(doc, doc["as_of"])
        return
    t = Table(title=f"BTC drawdowns of {threshold:.0%}+ (daily closes to {doc['as_of'][:10]})")
    for c in (
        "peak",
        "trough",
        "depth",
        "days",
        "OI source",
        "OI change",
        "OI drop",
        "flush ratio",
        "flush",
        "funding min",
        "long liq. (largest day)",
    ):
        t.add_column(c)
    for r in doc["declines"]:
        text = r["text"]
        t.add_row(
            f"{r['peak_date'][:10]} ${r['peak']:,.0f}",
            f"{r['trough_date'][:10]} ${r['trough']:,.0f}" + ("" if r["confirmed"] else " (open)"),
            text["depth"],
            str(r["days"]),
            r["oi_source"],
            text["oi_change"],
            text["oi_drop"],
            "-" if r["oi_change"] is None or r["flush_ratio"] is None else f"{r['flush_ratio']:.0%}",
            "-" if r["flush"] is None else ("yes" if r["flush"] else "no"),
            "-" if r["funding_min"] is None else f"{r['funding_min'] * 100:+.4f}%",
            text["long_liquidations"],
        )
    console.print(t)
    share, flushes, known = doc["flush_share"], doc["declines_ending_in_flush"], doc["declines_with_oi_data"]
    if share is not None:
        console.print(
            f"{flushes} of {known} completed declines with OI data ended in an OI flush ({share:.0%}); "
            f"signal 1's flush threshold from this history: "
            + (f"{doc['signal1_threshold']:.0%}" if doc["signal1_threshold"] is not None else "not enough flushes")
        )
    console.print("liquidation volumes: " + doc["liquidations"], highlight=False)


def _events(snap: Snapshot, threshold: float) -> Doc:
    """`events --json`'s document, with `text` in each decline row: its depth, OI change and drop and long
    liquidations as the terminal words them ('-' where absent)."""
    import pandas as pd

    from capitulation.formats import pct, usd
    from capitulation.signals import leverage_flush, liquidity_levels

    study = leverage_flush.event_study(snap, threshold)
    if study is None:
        fail("the snapshot needs BTC-USD daily prices and perp_metrics for the event study")
    tab = pd.concat([study.table, liquidity_levels.into_troughs(snap, study.table)], axis=1)
    declines = records(tab.astype({"flush": object}).where(tab.notna(), None))
    for row, r in zip(declines, tab.itertuples(), strict=True):
        oi = pd.notna(r.oi_change)
        row["text"] = {
            "depth": pct(r.depth),
            "oi_change": pct(r.oi_change) if oi else "-",
            "oi_drop": pct(-r.oi_drop) if oi else "-",
            "long_liquidations": "-"
            if pd.isna(r.long_liquidations_usd)
            else f"{usd(r.long_liquidations_usd)} ({usd(r.largest_long_usd)} {r.largest_long_day:%m-%d})",
        }
    return {
        "as_of": snap.as_of.isoformat(),
        "drawdown_threshold": threshold,
        "flush_definition": "OI in BTC at the trough (lowest within 3 days after it) at least 15% below its "
        "highest level during the decline",
        "declines": declines,
        "declines_with_oi_data": study.known,
        "declines_ending_in_flush": study.flushes,
        "flush_share": study.flushes / study.known if study.known else None,
        "signal1_threshold": study.threshold,
        "liquidations": _liquidations_note(snap),
        "oi_sources": sorted(set(tab["oi_source"]) - {"none"}),
    }
