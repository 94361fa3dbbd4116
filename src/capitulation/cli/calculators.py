"""Cost-floor calculators: `mnav` (one company, the seed preset, or every recorded treasury company) and
`mining` (one rig, or the rig catalogue with an electricity sweep, the halving and the history).

What they read from the recorded data or a snapshot is a document kept in the document cache
(`common.command_document`) and drawn from it alone, so a warm run loads neither pandas nor the analytics;
the calculators on typed-in numbers alone compute each run (no files to key a cache by)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich import box
from rich.table import Table

from capitulation.choices import SEED_DATE
from capitulation.cli.common import (
    SHARED_DATA,
    AsOfOpt,
    DataOpt,
    Doc,
    JsonOpt,
    NoCacheOpt,
    SnapshotOpt,
    app,
    clean,
    command_document,
    console,
    data_dir,
    examples,
    fail,
    handled,
    print_json,
    records,
)
from capitulation.errors import DataError
from capitulation.formats import missing, number, stamp, usd

if TYPE_CHECKING:
    import pandas as pd

    from capitulation.analytics.mining import NetworkState
    from capitulation.snapshot import Snapshot

StackOpt = Annotated[
    Path | None,
    typer.Option("--stack", help="capital-stack TOML of hand-entered facts (default: the bundled treasuries.toml)"),
]


def _usd(x: object) -> str:
    return "-" if missing(x) else usd(x)  # type: ignore[arg-type]


def _stack_key(stack: Path | None) -> dict[str, object]:
    """The document cache's key of a --stack file: its path as given (the document names it) and its content
    hash; None for the bundled one (the package's code, in every key)."""
    from capitulation.sources.cache import content_hash

    return {"stack_file": None if stack is None else [str(stack), content_hash(stack)]}


def _companies(
    build: Callable[[pd.DataFrame, str, Snapshot], Doc],
    data: Path | None,
    snapshot: Path | None,
    as_of: str | None,
    stack: Path | None,
    no_cache: bool,
    **options: object,
) -> Doc:
    """`build(table, stack_file, snap)`: a document of `signals.treasury.company_table` of the snapshot of
    `data` (`common.data_dir`) at `as_of`, its capital stack built from `stack` (default: the bundled
    treasuries.toml) like every snapshot's, or of the saved `snapshot` (its own stack), with the stack file
    used; kept in the document cache with `options` (`common.command_document`; `no_cache`: neither it nor
    the parsed tables)."""
    if snapshot is not None and stack is not None:
        fail("--stack builds a capital stack from --data; a --snapshot holds its own")

    def compute(snap: Snapshot) -> Doc:
        from capitulation.signals.treasury import company_table
        from capitulation.sources.treasuries import BUNDLED_STACK_FILE

        used = f"the one saved in {snapshot}" if snapshot is not None else str(stack or BUNDLED_STACK_FILE)
        return build(company_table(snap), used, snap)

    saved = None if snapshot is None else str(snapshot)  # the document names it as given
    return command_document(
        "mnav", data, snapshot, as_of, no_cache, compute, stack=stack, saved=saved, **_stack_key(stack), **options
    )


COLUMNS = [
    "ticker",
    "name",
    "status",
    "missing",
    "note",
    "as_of",
    "source",
    "btc_held",
    "avg_cost_usd",
    "shares_basic",
    "shares_mnav",
    "share_price_usd",
    "share_price_date",
    "debt_usd",
    "preferred_usd",
    "cash_usd",
    "converted",
    "btc_price_usd",
    "btc_price_date",
    "btc_nav_usd",
    "btc_nav_at_cost_usd",
    "market_cap_usd",
    "enterprise_value_usd",
    "mnav_ev",
    "mnav_mcap",
    "btc_per_share",
    "mnav1_btc_price",
    "stress_btc_price",
    "leverage",
    "unrealised_pnl_usd",
    "annual_interest_usd",
    "annual_preferred_dividends_usd",
    "interest_to_nav",
    "dividends_to_nav",
]
"""The JSON fields of one company: USD unless named (BTC, shares, a ratio, a fraction)."""


def _seed(real: dict[str, object] | None) -> Doc:
    """The seed commentary's MSTR example as printed, as published and reconciled, with `real`: MSTR's record
    of the company table that day (None: no recorded data given)."""
    from capitulation.analytics import treasury as tr
    from capitulation.timeutil import parse_as_of

    return {
        "as_of": parse_as_of(SEED_DATE).isoformat(),
        "date": SEED_DATE,
        "inputs": tr.SEED_INPUTS,
        "as_printed": tr.SEED_AS_PRINTED | clean(asdict(tr.seed_as_printed())),
        "published": tr.SEED_PUBLISHED,
        "reconciled": tr.SEED_RECONCILED | clean(asdict(tr.seed_reconciled())),
        "reading": "the printed EV ($3.9126B) and mNAV (0.832) follow from debt $8.22B and cash $54M (EV $39.12B, "
        "mNAV 0.830): the text slipped a decimal place in NAV, EV, debt and cash. It also valued the bitcoin "
        "at cost ($66,044), while its own mNAV definition uses spot.",
        "mstr_recorded": real,
        "mstr_recorded_note": "MSTR on 2026-02-05 at the BTC close, from the recorded capital stack"
        if real
        else "pass --data DIR for MSTR's mNAV on 2026-02-05 from the recorded capital stack",
    }


def _seed_recorded(table: pd.DataFrame, stack_file: str, _snap: Snapshot) -> Doc:
    """`_seed` with MSTR's record of the company table of the seed's day."""
    return _seed(records(table[table["ticker"] == "MSTR"][COLUMNS])[0] | {"stack_file": stack_file})


def _company_table(table: pd.DataFrame, stack_file: str, snap: Snapshot) -> Doc:
    """mnav's document of every recorded treasury company (`signals.treasury.company_table`)."""
    return {
        "as_of": snap.as_of.isoformat(),
        "btc_price_usd": float(table["btc_price_usd"].iloc[0]),
        "btc_price_date": table["btc_price_date"].iloc[0].isoformat(),
        "sorted_by": "stress: (debt + preferred) / BTC NAV, highest first, then mNAV lowest first",
        "stack_file": stack_file,
        "companies": records(table[COLUMNS]),
    }


def _print_seed(out: dict[str, object]) -> None:
    p, r, pub = out["as_printed"], out["reconciled"], out["published"]
    t = Table(title=f"Seed commentary, MSTR on {out['date']}", box=box.SIMPLE)
    for c in ("", "BTC price", "debt", "cash", "BTC NAV", "EV", "mNAV (EV)"):
        t.add_column(c, justify="right")
    t.add_row(
        "as printed",
        "$66,044",
        _usd(p["debt"]),
        _usd(p["cash"]),
        _usd(p["btc_nav_usd"]),
        _usd(p["enterprise_value_usd"]),
        f"{p['mnav_ev']:.3f}",
    )
    t.add_row(
        "published",
        "",
        "",
        "",
        _usd(pub["btc_nav_usd"]),
        _usd(pub["enterprise_value_usd"]),
        f"{pub['mnav_ev']:.3f}",
    )
    t.add_row(
        "reconciled",
        "$66,044",
        _usd(r["debt"]),
        _usd(r["cash"]),
        _usd(r["btc_nav_usd"]),
        _usd(r["enterprise_value_usd"]),
        f"{r['mnav_ev']:.3f}",
    )
    m = out["mstr_recorded"]
    if m:
        t.add_row(
            "recorded, at spot",
            f"${m['btc_price_usd']:,.0f}",
            _usd(m["debt_usd"]),
            _usd(m["cash_usd"]),
            _usd(m["btc_nav_usd"]),
            _usd(m["enterprise_value_usd"]),
            number(m["mnav_ev"], ".3f"),
        )
    console.print(t)
    console.print(out["reading"])
    if m:
        console.print(
            f"recorded: {m['btc_held']:,.0f} BTC ({m['as_of'][:10]}, {m['source']}), "
            f"{m['shares_mnav'] / 1e6:,.2f}M shares at ${m['share_price_usd']:,.2f}, preferred "
            f"{_usd(m['preferred_usd'])}; mNAV (market cap) {m['mnav_mcap']:.3f}; average cost "
            f"${number(m['avg_cost_usd'], ',.0f')}"
        )
    else:
        console.print(out["mstr_recorded_note"])


def _print_table(doc: Doc) -> None:
    """The company table of mnav's document (`_company_table`)."""
    day = stamp(doc["btc_price_date"], "%Y-%m-%d")
    title = f"Treasury companies at BTC ${doc['btc_price_usd']:,.0f} ({day}), most stressed first"
    t = Table(title=title, box=box.SIMPLE)
    for c in ("ticker", "BTC", "as of", "mNAV EV", "mNAV mcap", "claims/NAV", "stress line", "mNAV=1 at"):
        t.add_column(c, justify="right")
    t.add_column("missing")
    for r in doc["companies"]:
        t.add_row(
            r["ticker"],
            number(r["btc_held"], ",.0f"),
            stamp(r["as_of"], "%Y-%m-%d"),
            number(r["mnav_ev"], ".3f"),
            number(r["mnav_mcap"], ".3f"),
            number(r["leverage"], ".1%"),
            "-" if missing(r["stress_btc_price"]) else f"${r['stress_btc_price']:,.0f}",
            "-" if missing(r["mnav1_btc_price"]) else f"${r['mnav1_btc_price']:,.0f}",
            r["missing"],
        )
    console.print(t)
    for r in doc["companies"]:
        if isinstance(r["missing"], str) and re.search("price basis|input", r["missing"]):
            console.print(f"{r['ticker']}: {r['note']}")
    console.print(
        "claims/NAV = (debt + preferred) / BTC NAV; stress line: BTC price where BTC NAV = debt + preferred. "
        f"Sources and the full note per company in --json; capital-stack file: {doc['stack_file']}"
    )


@app.command(
    epilog=examples(
        "mnav --as-of 2026-02-05",
        "mnav --preset seed",
        "mnav --btc 713502 --btc-price 66044 --share-price 106.99 --shares 289340000 --debt 822e6",
    )
)
def mnav(
    btc: Annotated[float | None, typer.Option(help="BTC held")] = None,
    btc_price: Annotated[float | None, typer.Option(help="BTC price, USD")] = None,
    share_price: Annotated[float | None, typer.Option(help="share price, USD")] = None,
    shares: Annotated[float | None, typer.Option(help="shares outstanding")] = None,
    debt: Annotated[float, typer.Option(help="debt, USD notional")] = 0.0,
    cash: Annotated[float, typer.Option(help="cash, USD")] = 0.0,
    preferred: Annotated[float, typer.Option(help="preferred stock, USD notional")] = 0.0,
    avg_cost: Annotated[float | None, typer.Option(help="average BTC cost, USD")] = None,
    preset: Annotated[
        Literal["seed"] | None, typer.Option(help="the seed commentary's MSTR example three ways")
    ] = None,
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    stack: StackOpt = None,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """mNAV of treasury companies: EV = cap + debt + preferred - cash, mNAV = EV / BTC NAV.

    With --btc/--btc-price/--share-price/--shares: one company. With --preset seed: the seed example as
    printed, as published and reconciled (+ MSTR on 2026-02-05 from the recorded data with --data; --as-of
    does not apply). With --data only:
    every recorded treasury company at the BTC close of --as-of (default 2026-02-05), most stressed first:
    the table verdict 6 and the dashboard read, its capital stack from --stack FILE instead of the bundled one.
    """
    flags = {"--btc": btc, "--btc-price": btc_price, "--share-price": share_price, "--shares": shares}
    if preset is not None:
        with handled():
            out = (
                _seed(None)
                if data is None
                else _companies(_seed_recorded, data, None, SEED_DATE, stack, no_cache, preset=preset)
            )
        if as_json:
            print_json(out, out["as_of"])
        else:
            _print_seed(out)
        return
    if any(v is not None for v in flags.values()):
        absent = [k for k, v in flags.items() if v is None]
        if absent:
            fail(f"the calculator needs {', '.join(absent)}")
        from capitulation.analytics.treasury import mnav as compute

        with handled():
            m = compute(
                btc_held=btc,
                btc_price=btc_price,
                share_price=share_price,
                shares=shares,
                debt=debt,
                preferred=preferred,
                cash=cash,
                avg_cost=avg_cost,
            )
        if as_json:
            print_json(asdict(m), None)
            return
        console.print(
            f"BTC NAV ${m.btc_nav_usd / 1e9:,.2f}B  market cap ${m.market_cap_usd / 1e9:,.2f}B  "
            f"EV ${m.enterprise_value_usd / 1e9:,.2f}B\n"
            f"mNAV (EV) {m.mnav_ev:.3f}   mNAV (market cap) {m.mnav_mcap:.3f}   BTC/share {m.btc_per_share:.6f}\n"
            f"mNAV = 1 at BTC ${m.mnav1_btc_price:,.0f}; BTC NAV = debt + preferred at ${m.stress_btc_price:,.0f}"
        )
        return
    if data is None and snapshot is None and not SHARED_DATA.is_dir():
        fail("pass --btc/--btc-price/--share-price/--shares, --preset seed, or --data DIR for the recorded companies")
    with handled():
        doc = _companies(_company_table, data, snapshot, as_of, stack, no_cache)
    if as_json:
        print_json(doc, doc["as_of"])
    else:
        _print_table(doc)


def _state(
    snap: Snapshot | None, where: Callable[[], object], as_of: str | None, overrides: dict[str, float | None]
) -> NetworkState:
    """The network state from the snapshot's `btc_network` (`DataError` naming `where()` without one) or, with
    no snapshot, the flags (`overrides`, with --hashrate-ehs); flags win. Without data the state's date is
    --as-of (it picks the rigs of that day), else unknown (the newest catalogue)."""
    import pandas as pd

    from capitulation.analytics.mining import NetworkState, network_state
    from capitulation.timeutil import parse_as_of

    if snap is not None:
        net = snap.get("btc_network")
        if net is None:
            raise DataError(f"no btc_network table under {where()}")
        state = network_state(net)
    else:
        # without recorded data: no fees, and the subsidy since the April 2024 halving (3.125 BTC)
        when = pd.NaT if as_of is None else parse_as_of(as_of).normalize()
        state = NetworkState(when, overrides["hashrate_ehs"], None, 0.0, 3.125, 0)  # type: ignore[arg-type]
    given = {k: v for k, v in overrides.items() if v is not None}
    return NetworkState(**(asdict(state) | given))


@app.command(epilog=examples("mining --power-usd-kwh 0.05", "mining --hashrate-ehs 1050 --efficiency-jth 17.5 --json"))
def mining(
    hashrate_ehs: Annotated[float | None, typer.Option(help="network hashrate, EH/s")] = None,
    efficiency_jth: Annotated[
        float | None, typer.Option(help="one rig's efficiency, J/TH (else: the rigs of the day)")
    ] = None,
    power_usd_kwh: Annotated[float, typer.Option(help="electricity, USD per kWh")] = 0.06,
    fees_btc_per_block: Annotated[
        float | None, typer.Option(help="fees per block, BTC (default 0, or recorded)")
    ] = None,
    subsidy_btc: Annotated[float | None, typer.Option(help="block subsidy, BTC (default 3.125, or recorded)")] = None,
    rig_ths: Annotated[float | None, typer.Option(help="rig hashrate, TH/s (for its power draw)")] = None,
    btc_price: Annotated[float | None, typer.Option(help="BTC price for hashprice and margins, USD")] = None,
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Miner shutdown price: the BTC price where a rig's revenue equals its power cost.

    With --efficiency-jth: that rig. Without: the rigs of the day (released within the fleet window before the
    network's date, or --as-of), the efficient frontier and the fleet average, an electricity sweep and the
    next halving; with --data also the recorded network state, hashprice at the BTC close and the breakeven
    history of each day's frontier and fleet.
    """
    overrides = {"hashrate_ehs": hashrate_ehs, "fees_btc_per_block": fees_btc_per_block, "subsidy_btc": subsidy_btc}
    # the recorded network state with --data or --snapshot, by default ../shared/data when it exists and
    # --hashrate-ehs is not given; else the flags alone
    recorded = data is not None or snapshot is not None or (hashrate_ehs is None and SHARED_DATA.is_dir())
    if not recorded and hashrate_ehs is None:
        fail("pass --hashrate-ehs, or --data DIR for the recorded network state")

    def compute(snap: Snapshot | None) -> Doc:
        state = _state(snap, lambda: snapshot or data_dir(data), as_of, overrides)
        return _mining(snap, state, efficiency_jth, power_usd_kwh, rig_ths, btc_price)

    options = {
        "efficiency_jth": efficiency_jth,
        "power_usd_kwh": power_usd_kwh,
        "rig_ths": rig_ths,
        "btc_price": btc_price,
    }
    with handled():
        if recorded:
            doc = command_document("mining", data, snapshot, as_of, no_cache, compute, **overrides, **options)
        else:
            doc = compute(None)
    if as_json:
        print_json(doc, doc["as_of"])
    elif efficiency_jth is not None:
        console.print(
            f"shutdown price ${doc['shutdown_price_usd']:,.0f} per BTC  (revenue {doc['revenue_btc_per_th_day']:.3e} "
            f"BTC/TH/day, power cost ${doc['power_cost_usd_per_th_day']:.4f}/TH/day)"
        )
    else:
        _print_mining(doc)


def _mining(
    snap: Snapshot | None,
    state: NetworkState,
    efficiency_jth: float | None,
    power_usd_kwh: float,
    rig_ths: float | None,
    btc_price: float | None,
) -> Doc:
    """mining's document at `state` and `power_usd_kwh` (USD/kWh): one rig's shutdown economics at
    `efficiency_jth` (J/TH; `rig_ths`: its TH/s), else the rigs of the day, their cost floors, the
    electricity sweep, the next halving and, with `snap`, the monthly breakeven history; hashprice at
    `btc_price` (default: the snapshot's spot). Its as_of: the snapshot's; None (the time of the run) when
    computed from flags only."""
    import pandas as pd

    from capitulation.analytics import mining as mi
    from capitulation.signals.common import BTC, closes, spot

    price = btc_price if btc_price is not None or snap is None else spot(snap)
    hashprice = None if price is None else state.hashprice_usd_per_th_day(price)
    as_of = None if snap is None else snap.as_of.isoformat()
    if efficiency_jth is not None:
        e = mi.shutdown_price(
            hashrate_ehs=state.hashrate_ehs,
            efficiency_jth=efficiency_jth,
            power_usd_kwh=power_usd_kwh,
            fees_btc_per_block=state.fees_btc_per_block,
            subsidy_btc=state.subsidy_btc,
            rig_hashrate_ths=rig_ths,
        )
        return {"as_of": as_of, **asdict(e), "btc_price_usd": price, "hashprice_usd_per_th_day": hashprice}
    rigs = mi.rigs_at(state.date)
    econ = mi.catalogue_at(state, power_usd_kwh, rigs, btc_price=price)
    floors = mi.cost_floors(state, power_usd_kwh)
    sweep = mi.electricity_sweep(
        rigs,
        hashrate_ehs=state.hashrate_ehs,
        fees_btc_per_block=state.fees_btc_per_block,
        subsidy_btc=state.subsidy_btc,
    )
    halving = mi.next_halving(state, power_usd_kwh, rigs)
    history = None
    if snap is not None:
        hist = mi.breakeven_history(snap.tables["btc_network"], closes(snap, BTC), power_usd_kwh)
        history = hist.resample("ME").last().tail(24)
    return {
        "as_of": as_of,
        "network": clean(asdict(state) | {"date": None if pd.isna(state.date) else state.date.isoformat()}),
        "network_source": "recorded btc_network (flags override)" if snap is not None else "flags",
        "power_usd_kwh": power_usd_kwh,
        "btc_price_usd": price,
        "hashprice_usd_per_th_day": hashprice,
        "fleet_rule": f"rigs released within {mi.FLEET_YEARS:g} years before the date, equally weighted",
        "cost_floors": clean(floors.as_dict()),
        "rigs": records(econ),
        "electricity_sweep_usd": {
            rig: {f"{p:.2f}": v for p, v in row.items()} for rig, row in sweep.to_dict("index").items()
        },
        "next_halving": {
            "subsidy_btc": state.subsidy_btc / 2,
            "assumes": "hashrate and fees as today",
            "rigs": records(halving),
        },
        "breakeven_history_monthly": None if history is None else records(history.reset_index()),
    }


def _print_mining(doc: Doc) -> None:
    """mining's document of the rigs of the day (`_mining` without a rig's efficiency)."""
    net, floors, price, hashprice = (
        doc["network"],
        doc["cost_floors"],
        doc["btc_price_usd"],
        doc["hashprice_usd_per_th_day"],
    )
    power = floors["power_usd_kwh"]
    when = f" ({net['window_days']}-day mean to {net['date'][:10]})" if net["date"] else ""
    console.print(
        f"network {net['hashrate_ehs']:,.0f} EH/s{when}, fees {net['fees_btc_per_block']:.4f} BTC/block, subsidy "
        f"{net['subsidy_btc']:g} BTC"
        + (
            ""
            if hashprice is None
            else f"; hashprice ${hashprice:.4f} per TH/s per day (${hashprice * 1e3:,.2f}/PH/day) at BTC ${price:,.0f}"
        )
    )
    console.print(
        f"cost floors at ${power}/kWh: efficient frontier {floors['frontier_rig']} ({floors['frontier_jth']:g} J/TH) "
        f"${floors['frontier_usd']:,.0f}; fleet average {floors['fleet_jth']:.1f} J/TH (the "
        f"{len(floors['fleet_rigs'])} rigs released within {floors['fleet_years']:g} years) ${floors['fleet_usd']:,.0f}"
    )
    day = f" of {net['date'][:10]}" if net["date"] else " of the newest catalogue"
    t = Table(title=f"Shutdown price per rig{day} at ${power}/kWh (power only)", box=box.SIMPLE)
    for c in ("rig", "released", "TH/s", "W", "J/TH", "shutdown USD/BTC"):
        t.add_column(c, justify="left" if c in ("rig", "released") else "right")
    for r in doc["rigs"]:
        t.add_row(
            r["rig"],
            r["released"],
            f"{r['hashrate_ths']:g}",
            f"{r['power_w']:,.0f}",
            f"{r['efficiency_jth']:g}",
            f"${r['shutdown_price_usd']:,.0f}",
        )
    console.print(t)
    sweep = doc["electricity_sweep_usd"]
    s = Table(title="Electricity sweep: shutdown USD/BTC", box=box.SIMPLE)
    s.add_column("rig")
    for p in next(iter(sweep.values()), {}):
        s.add_column(f"${p}", justify="right")
    for rig, row in sweep.items():
        s.add_row(str(rig), *(f"${v / 1e3:,.1f}k" for v in row.values()))
    console.print(s)
    halving = doc["next_halving"]
    console.print(
        f"next halving (subsidy {halving['subsidy_btc']:g} BTC, hashrate and fees as today): "
        + ", ".join(
            f"{r['rig']} ${r['now_usd'] / 1e3:,.1f}k -> ${r['after_halving_usd'] / 1e3:,.1f}k" for r in halving["rigs"]
        )
    )
    history = doc["breakeven_history_monthly"]
    if history is not None:
        h = Table(title=f"Breakeven of each day's rigs at ${power}/kWh (month ends)", box=box.SIMPLE)
        for c in ("month", "BTC close", "EH/s", "hashprice $/TH/d", "frontier J/TH", "frontier", "fleet J/TH", "fleet"):
            h.add_column(c, justify="right")
        for r in history:
            h.add_row(
                stamp(r["date"], "%Y-%m"),
                number(r["btc_close"], ",.0f"),
                f"{r['hashrate_ehs']:,.0f}",
                number(r["hashprice_usd_per_th_day"], ".4f"),
                number(r["frontier_jth"], "g"),
                _usd(r["frontier_usd"]),
                number(r["fleet_jth"], ".1f"),
                _usd(r["fleet_usd"]),
            )
        console.print(h)
