"""`options`: smile, skew term structure and dealer gamma of the latest option chain in a snapshot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.table import Table

from capitulation.analytics.gex import Dealer, Sticky
from capitulation.cli.common import (
    AsOfOpt,
    DataOpt,
    JsonOpt,
    NoCacheOpt,
    SnapshotOpt,
    app,
    console,
    examples,
    fail,
    handled,
    load_snapshot,
    print_json,
)
from capitulation.errors import DataError
from capitulation.timeutil import DAYS_PER_YEAR

if TYPE_CHECKING:
    from capitulation.signals.options_stress import OptionsSummary

DELTAS = (10, 15, 25)


@app.command(epilog=examples("options --dealer short_all --sticky delta", "options --expiry 2026-03-27 --json"))
def options(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    expiry: Annotated[
        str | None, typer.Option("--expiry", help="one expiry (date, UTC) for smile, GEX, walls, max pain")
    ] = None,
    dealer: Annotated[Dealer, typer.Option("--dealer", help="dealer positioning")] = "classic",
    trades: Annotated[
        Path | None, typer.Option("--trades", help="Deribit get_last_trades JSON (for --dealer trades/trades_net)")
    ] = None,
    sticky: Annotated[Sticky, typer.Option("--sticky", help="IV as spot moves in the GEX profile")] = "strike",
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Per-expiry ATM vol, 10/15/25-delta RR and BF; constant-maturity RR term structure; dealer GEX,
    hedge flow, gamma flip, call/put walls and max pain, with the dealer model and the chain's age."""
    from capitulation.signals.options_stress import summarize
    from capitulation.sources.deribit import read_trades_json

    if dealer.startswith("trades") and trades is None:
        fail(f"--dealer {dealer} needs --trades FILE (a Deribit get_last_trades JSON response)")
    with handled():
        snap = load_snapshot(data, snapshot, as_of, no_cache)
        quotes = snap.get("option_quotes")
        if quotes is None:
            raise DataError(f"no option chain in the snapshot as of {snap.as_of:%Y-%m-%d %H:%M} UTC")
        flow = read_trades_json(trades)[0] if trades is not None else None
        s = summarize(quotes, dealer, expiry, flow, sticky)
        age = snap.age_days("option_quotes") or 0.0
    out = _as_dict(s, snap.as_of, age, dealer, snap.provenance["option_quotes"].dropped_rows)
    if as_json:
        print_json(out, snap.as_of)
    else:
        _render(out)


def _vols(row: pd.Series, keys: list[str]) -> dict[str, float]:
    return {k: float(row[k]) for k in keys}


def _as_dict(s: OptionsSummary, as_of: pd.Timestamp, age: float, dealer: str, dropped: int) -> dict[str, Any]:
    """The summary as plain JSON-able values: vols as fractions, money in USD, times in ISO UTC; `dropped`:
    the bad quote rows the importer dropped (row policy of `tables`)."""
    smile_keys = ["atm_iv"] + [f"{k}{d}" for d in DELTAS for k in ("rr", "bf")]
    pain = s.max_pain.set_index("expiry")["max_pain"]
    gex_by_expiry = s.gex.by_strike.groupby("expiry")["gex_usd"].sum()
    expiries = [
        {
            "expiry": r["expiry"].isoformat(),
            "days": float(r["t_years"] * DAYS_PER_YEAR),
            "forward_usd": float(r["forward"]),
            **_vols(r, smile_keys),
            "max_pain_usd": float(pain.get(r["expiry"], float("nan"))),
            "gex_usd_per_1pct": float(gex_by_expiry.get(r["expiry"], 0.0)),
        }
        for _, r in s.smile.iterrows()
    ]
    term = [{"days": int(r["days"]), **_vols(r, smile_keys)} for _, r in s.term.iterrows()]
    nearest = s.max_pain.iloc[0] if len(s.max_pain) else None
    return {
        "chain_timestamp": s.timestamp.isoformat(),
        "as_of": as_of.isoformat(),
        "chain_age_days": age,
        "bad_quote_rows_dropped": dropped,
        "reference_spot_usd": s.spot,
        "expiry": None if s.expiry is None else s.expiry.isoformat(),
        "dealer_model": dealer,
        "dealer_description": s.gex.dealer,
        "units": "vols and vol spreads are fractions (0.01 = 1 vol point); USD; GEX and hedge flow per 1% move",
        "expiries": expiries,
        "constant_maturity": term,
        "gex": {
            "total_usd_per_1pct": s.gex.total_usd,
            "hedge_flow_usd_per_1pct_rise": s.gex.hedge_flow_usd,
            "gamma_flip_usd": s.flip,
            "call_wall_usd": s.walls.call_wall,
            "put_wall_usd": s.walls.put_wall,
            "sticky": s.sticky,
        },
        "max_pain": None
        if nearest is None
        else {"expiry": nearest["expiry"].isoformat(), "strike_usd": float(nearest["max_pain"])},
    }


def _missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def _pts(x: float | None) -> str:
    """A vol spread (fraction) in signed vol points; '-' when absent."""
    return "-" if _missing(x) else f"{x * 100:+.1f}"


def _usd(x: float | None) -> str:
    return "-" if _missing(x) else f"${x:,.0f}"


def _kusd(x: float | None) -> str:
    return "-" if _missing(x) else f"{x / 1e3:,.1f}k"


def _musd(x: float) -> str:
    return f"{'-' if x < 0 else '+'}${abs(x) / 1e6:,.1f}M"


def _render(out: dict[str, Any]) -> None:
    from capitulation.signals.options_stress import flip_text

    age = out["chain_age_days"]
    chain, as_of = pd.Timestamp(out["chain_timestamp"]), pd.Timestamp(out["as_of"])
    console.print(
        f"[bold]options[/bold] chain of {chain:%Y-%m-%d %H:%M} UTC ({age:.1f} days before as_of "
        f"{as_of:%Y-%m-%d %H:%M}); reference spot {_usd(out['reference_spot_usd'])}"
        + (f"; {out['bad_quote_rows_dropped']} bad quote row(s) dropped" if out["bad_quote_rows_dropped"] else ""),
        highlight=False,
    )
    t = Table(title="Smile by expiry (vol points; USD in thousands)", box=box.SIMPLE_HEAD, collapse_padding=True)
    for col in ("expiry", "days", "forward", "ATM", *(f"RR{d}" for d in DELTAS), *(f"BF{d}" for d in DELTAS)):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("max pain", justify="right", no_wrap=True)
    for e in out["expiries"]:
        t.add_row(
            f"{pd.Timestamp(e['expiry']):%d%b%y}".upper(),
            f"{e['days']:.1f}",
            _kusd(e["forward_usd"]),
            f"{e['atm_iv'] * 100:.1f}",
            *(_pts(e[f"rr{d}"]) for d in DELTAS),
            *(_pts(e[f"bf{d}"]) for d in DELTAS),
            _kusd(e["max_pain_usd"]),
        )
    console.print(t)
    cm = Table(title="Constant maturity (total-variance interpolation, vol points)", box=box.SIMPLE_HEAD)
    for col in ("days", "ATM", *(f"RR{d}" for d in DELTAS), "BF25"):
        cm.add_column(col, justify="right")
    for r in out["constant_maturity"]:
        atm = "-" if _missing(r["atm_iv"]) else f"{r['atm_iv'] * 100:.1f}"
        cm.add_row(str(r["days"]), atm, *(_pts(r[f"rr{d}"]) for d in DELTAS), _pts(r["bf25"]))
    console.print(cm)
    g = out["gex"]
    where = "" if out["expiry"] is None else f" (expiry {out['expiry'][:10]})"
    console.print(
        f"dealer model {out['dealer_description']}{where}\n"
        f"GEX {_musd(g['total_usd_per_1pct'])} per 1% move; hedge flow per 1% rise "
        f"{_musd(g['hedge_flow_usd_per_1pct_rise'])} (+ dealers buy, - sell); sticky {g['sticky']}\n"
        f"{flip_text(math.nan if g['gamma_flip_usd'] is None else g['gamma_flip_usd'])}; "
        f"call wall {_usd(g['call_wall_usd'])}; "
        f"put wall {_usd(g['put_wall_usd'])}",
        highlight=False,
    )
    if out["max_pain"]:
        mp = out["max_pain"]
        console.print(f"max pain (expiry {mp['expiry'][:10]}): {_usd(mp['strike_usd'])}", highlight=False)
