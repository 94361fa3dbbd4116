"""`options`: smile, skew term structure and dealer gamma of the latest option chain in a snapshot."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from capitulation.choices import Dealer, Sticky
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
)
from capitulation.errors import DataError
from capitulation.formats import missing

if TYPE_CHECKING:
    from capitulation.snapshot import Snapshot

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
    if dealer.startswith("trades") and trades is None:
        fail(f"--dealer {dealer} needs --trades FILE (a Deribit get_last_trades JSON response)")

    def compute(snap: Snapshot) -> Doc:
        from capitulation.signals.options_stress import flip_text, summarize
        from capitulation.sources.deribit import read_trades_json

        quotes = snap.get("option_quotes")
        if quotes is None:
            raise DataError(f"no option chain in the snapshot as of {snap.as_of:%Y-%m-%d %H:%M} UTC")
        flow = read_trades_json(trades)[0] if trades is not None else None
        s = summarize(quotes, dealer, expiry, flow, sticky)
        age = snap.age_days("option_quotes") or 0.0
        dropped = snap.provenance["option_quotes"].dropped_rows  # bad quote rows the importer dropped (`tables`)
        head = {"chain_timestamp": s.timestamp.isoformat(), "as_of": snap.as_of.isoformat(), "chain_age_days": age}
        out = head | {"bad_quote_rows_dropped": dropped} | s.as_dict()
        out["gex"]["text"] = {"gamma_flip": flip_text(s.flip)}  # the figure as the terminal words it
        return out

    from capitulation.sources.cache import content_hash

    # the trades file by path and content: another file, or the same one rewritten, is another document
    flow_file = None if trades is None else [str(trades.resolve()), content_hash(trades)]
    opts = {"expiry": expiry, "dealer": dealer, "sticky": sticky, "trades": flow_file}
    with handled():
        doc = command_document("options", data, snapshot, as_of, no_cache, compute, **opts)
    if as_json:
        print_json(doc, doc["as_of"])
    else:
        _render(doc)


def _pts(x: float | None) -> str:
    """A vol spread (fraction) in signed vol points; '-' when absent."""
    return "-" if missing(x) else f"{x * 100:+.1f}"


def _usd(x: float | None) -> str:
    return "-" if missing(x) else f"${x:,.0f}"


def _kusd(x: float | None) -> str:
    return "-" if missing(x) else f"{x / 1e3:,.1f}k"


def _musd(x: float) -> str:
    return f"{'-' if x < 0 else '+'}${abs(x) / 1e6:,.1f}M"


def _render(out: Doc) -> None:
    """The terminal view of the document (`options --json`'s object, with `gex.text.gamma_flip`)."""
    age = out["chain_age_days"]
    chain, as_of = datetime.fromisoformat(out["chain_timestamp"]), datetime.fromisoformat(out["as_of"])
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
            f"{datetime.fromisoformat(e['expiry']):%d%b%y}".upper(),
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
        atm = "-" if missing(r["atm_iv"]) else f"{r['atm_iv'] * 100:.1f}"
        cm.add_row(str(r["days"]), atm, *(_pts(r[f"rr{d}"]) for d in DELTAS), _pts(r["bf25"]))
    console.print(cm)
    g = out["gex"]
    where = "" if out["expiry"] is None else f" (expiry {out['expiry'][:10]})"
    console.print(
        f"dealer model {out['dealer_description']}{where}\n"
        f"GEX {_musd(g['total_usd_per_1pct'])} per 1% move; hedge flow per 1% rise "
        f"{_musd(g['hedge_flow_usd_per_1pct_rise'])} (+ dealers buy, - sell); sticky {g['sticky']}\n"
        f"{g['text']['gamma_flip']}; "
        f"call wall {_usd(g['call_wall_usd'])}; "
        f"put wall {_usd(g['put_wall_usd'])}",
        highlight=False,
    )
    if out["max_pain"]:
        mp = out["max_pain"]
        console.print(f"max pain (expiry {mp['expiry'][:10]}): {_usd(mp['strike_usd'])}", highlight=False)
