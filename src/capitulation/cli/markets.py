"""Markets commands: `crossasset` (stocks, metals, ETFs and flows against BTC), `sectors` (crypto sector
baskets against BTC) and `hedge` (the hedge desk for a long BTC position).

Each command's document (what --json prints) is kept in the document cache (`common.command_document`); the
terminal view is drawn from it alone, so a warm run loads neither pandas nor the signals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
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
from capitulation.formats import missing, number, pct, stamp, usd

if TYPE_CHECKING:
    from capitulation.snapshot import Snapshot


def _print_verdict(v: Mapping[str, Any]) -> None:
    """A verdict's document (`Verdict.as_dict`): its title, status and headline, then its evidence."""
    console.print(f"[bold]{v['title']}[/bold]: {v['status']} - {v['headline']}", highlight=False)
    for line in v["evidence"]:
        console.print(f"   - {line}", highlight=False)


def _p(x: float | None) -> str:
    return "-" if missing(x) else pct(x)  # type: ignore[arg-type]


@app.command(epilog=examples("crossasset --as-of 2026-02-05", "crossasset --json"))
def crossasset(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """BTC against stocks, metals, bonds, the dollar and the spot ETFs: drawdowns from the ATH and the 90-day
    high, relative drawdown, 30/90-day correlation and beta, and spot-ETF flows over 5/20/60 days."""
    with handled():
        doc = command_document("crossasset", data, snapshot, as_of, no_cache, _crossasset)
    if as_json:
        print_json(doc, doc["as_of"])
        return
    t = Table(title=f"Cross-asset, as of {stamp(doc['as_of'])} UTC", box=box.SIMPLE_HEAD)
    cols = ("asset", "group", "close", "from ATH", "from 90d high", "vs BTC (pts)", "30d")
    for c in (*cols, "corr 30d", "beta 30d", "corr 90d", "beta 90d"):
        t.add_column(c, justify="left" if c in ("asset", "group") else "right", no_wrap=True)
    for r in doc["assets"]:
        is_btc = r["group"] == "bitcoin"  # BTC's own row: the one symbol outside the compared groups
        t.add_row(
            r["symbol"],
            r["group"],
            f"{r['close']:,.2f}",
            pct(r["drawdown_ath"]),
            pct(r["drawdown_90d"]),
            "" if is_btc else _p(r["rel_drawdown_90d"]),
            _p(r["return_30d"]),
            "" if is_btc else number(r["corr_30d"], "+.2f"),
            "" if is_btc else number(r["beta_30d"]),
            "" if is_btc else number(r["corr_90d"], "+.2f"),
            "" if is_btc else number(r["beta_90d"]),
        )
    console.print(t)
    flows = doc["etf_flows"]
    if flows is not None:
        sums = "; ".join(f"{d.removesuffix('d')} trading days {usd(v)}" for d, v in flows["sums_usd"].items())
        state = "" if flows["fresh"] else f" [STALE: {flows['age_days']:.0f} days before as_of]"
        console.print(f"spot ETF net flows to {stamp(flows['last_date'], '%Y-%m-%d')}{state}: {sums}", highlight=False)
    _print_verdict(doc["verdict"])


def _crossasset(snap: Snapshot) -> Doc:
    """crossasset's document: `CrossAsset.as_dict` and the verdict, at the snapshot's as_of."""
    from capitulation.signals import cross_asset

    ca = cross_asset.cross_asset(snap)
    if isinstance(ca, str):
        fail(f"cross-asset: {ca}")
    return {"as_of": snap.as_of.isoformat(), **ca.as_dict(), "verdict": cross_asset.evaluate(snap).as_dict()}


@app.command(epilog=examples("sectors", "sectors --snapshot snap/ --json"))
def sectors(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Crypto sector baskets ranked by return relative to BTC over 7/30/90 days, with which of the thesis
    sectors (prediction markets, RWA, L2, GameFi, SocialFi) the data covers."""
    with handled():
        doc = command_document("sectors", data, snapshot, as_of, no_cache, _sectors)
    if as_json:
        print_json(doc, doc["as_of"])
        return
    days = [k.removesuffix("d") for k in doc["btc_return"]]
    t = Table(title=f"Sectors vs BTC to {stamp(doc['data_to'], '%Y-%m-%d')} ({doc['benchmark']})", box=box.SIMPLE_HEAD)
    for c in ("#", "sector", "coins", *(f"{d}d" for d in days), *(f"vs BTC {d}d" for d in days)):
        t.add_column(c, justify="left" if c == "sector" else "right", no_wrap=True)
    for r in doc["ranking"]:
        t.add_row(
            number(r["rank_30d"], ".0f"),
            str(r["sector"]),
            number(r["members"], ".0f"),
            *(_p(r[f"return_{d}d"]) for d in days),
            *(_p(r[f"vs_btc_{d}d"]) for d in days),
        )
    t.add_row("", "BTC", "", *(_p(v) for v in doc["btc_return"].values()), "", "", "")
    console.print(t)
    for r in doc["thesis_coverage"]:
        figures = ", ".join(f"{d}d {_p(r[f'vs_btc_{d}d'])}" for d in days)
        console.print(
            f"{r['sector']}: {r['status']} - {r['note']}" + ("" if missing(r["label"]) else f"; vs BTC {figures}"),
            highlight=False,
        )
    _print_verdict(doc["verdict"])


def _sectors(snap: Snapshot) -> Doc:
    """sectors' document: the ranking, the thesis sectors' coverage and the verdict, at the snapshot's as_of."""
    from capitulation.signals import sector_rotation

    sec = sector_rotation.sectors(snap)
    if isinstance(sec, str):
        fail(f"sectors: {sec}")
    return {
        "as_of": snap.as_of.isoformat(),
        "data_to": sec.end.isoformat(),
        "benchmark": sec.benchmark,
        "weighting": sector_rotation.WEIGHTING,
        "units": "returns are fractions; vs_btc = (1 + sector) / (1 + BTC) - 1; rank 1 = strongest; null = not "
        "enough data (under 90% of the window's days)",
        "btc_return": {f"{d}d": sec.btc[d] for d in sector_rotation.DAYS},
        "ranking": records(sec.table.rename_axis("sector").reset_index()),
        "thesis_coverage": records(sec.coverage),
        "left_out": sector_rotation.EXCLUDED,
        "verdict": sector_rotation.evaluate(snap).as_dict(),
    }


@app.command(
    epilog=examples("hedge --notional 1e6 --horizon 30d", "hedge --horizon 4w --delta 0.1 --proxy MSTR --json")
)
def hedge(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    notional: Annotated[float, typer.Option(help="long BTC exposure to hedge, USD")] = 1e6,
    horizon: Annotated[str, typer.Option(help="hedge horizon in whole days: 30d, 4w")] = "30d",
    delta: Annotated[float, typer.Option(help="put delta (absolute) for the protective put; ATM is also shown")] = 0.25,
    margin: Annotated[float, typer.Option(help="initial margin of the perp short, fraction of notional")] = 0.10,
    proxy: Annotated[list[str] | None, typer.Option(help="proxy to short (repeat); default MSTR, QQQ, GLD")] = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """The hedge desk for a long BTC position: protective puts (chain IV at a delta, skew included), a perp
    short (funding carry, liquidation distance) and proxy shorts (hedge ratio, rho^2 calm vs stress)."""
    options = {
        "notional": notional,
        "horizon": horizon,
        "delta": delta,
        "margin": margin,
        "proxies": [p.upper() for p in proxy] if proxy else None,
    }
    with handled():
        doc = command_document(
            "hedge", data, snapshot, as_of, no_cache, lambda snap: _hedge(snap, **options), **options
        )
    if as_json:
        print_json(doc, doc["as_of"])
        return
    console.print(
        f"[bold]hedge desk[/bold]: long {usd(doc['notional_usd'])} of BTC at {usd(doc['spot_usd'])} "
        f"({stamp(doc['spot_date'], '%Y-%m-%d')}), horizon {doc['horizon_days']} days; as of "
        f"{stamp(doc['as_of'])} UTC",
        highlight=False,
    )
    t = Table(box=box.SIMPLE_HEAD, title="Hedge families: cost and effectiveness (rho^2), calm vs stress")
    for c in ("family", "instrument", "cost", "a year", "cost USD", "hedge USD", "rho^2 calm", "rho^2 stress"):
        t.add_column(c, justify="left" if c in ("family", "instrument") else "right")
    for r in doc["families"]:
        t.add_row(
            r["family"],
            r["instrument"],
            _p(r["cost_horizon"]),
            _p(r["cost_annualised"]),
            number(r["cost_usd"], "+,.0f"),
            number(r["hedge_usd"], ",.0f"),
            number(r["effectiveness_calm"]) + ("" if missing(r["n_calm"]) else f" (n={r['n_calm']:.0f})"),
            number(r["effectiveness_stress"]) + ("" if missing(r["n_stress"]) else f" (n={r['n_stress']:.0f})"),
        )
    console.print(t)
    for r in doc["families"]:
        console.print(f"   {r['family']} {r['instrument']}: {r['note']}", highlight=False)
    _print_verdict(doc["verdict"])


def _hedge(
    snap: Snapshot, notional: float, horizon: str, delta: float, margin: float, proxies: list[str] | None
) -> Doc:
    """hedge's document: the desk for `notional` USD over `horizon` (whole days) with puts at `delta`, a perp
    short at `margin` and the `proxies` (None: the desk's defaults), and signal 7's verdict."""
    from capitulation.analytics import hedge_desk
    from capitulation.signals import hedging
    from capitulation.timeutil import parse_duration

    days = parse_duration(horizon, "--horizon", whole_days=True).days
    d = hedge_desk.desk(snap.tables, snap.as_of, notional, days, delta, margin, tuple(proxies or hedge_desk.PROXIES))
    return {
        **d.as_dict(),
        "units": "costs are fractions of notional over the horizon (negative = income) and annualised "
        "(x 365 / days); effectiveness = rho^2 of daily returns (share of BTC variance removed); hedge_usd = "
        "size of the hedge; proxies' hedge ratio = USD short per USD of BTC",
        "families": records(d.families()),
        "hedges": records(d.hedges),
        "episodes": records(d.episodes),
        "verdict_note": "signal 7 (did the diversifiers fail with BTC in the current stress window?), whatever "
        "the options above",
        "verdict": hedging.evaluate(snap).as_dict(),
    }
