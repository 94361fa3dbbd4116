"""Calculators that need no snapshot: `mnav` and `mining`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from capitulation.cli.common import JsonOpt, app, clean, console, handled, print_json


@app.command()
def mnav(
    btc: Annotated[float, typer.Option(help="BTC held")],
    btc_price: Annotated[float, typer.Option(help="BTC price, USD")],
    share_price: Annotated[float, typer.Option(help="share price, USD")],
    shares: Annotated[float, typer.Option(help="shares outstanding")],
    debt: Annotated[float, typer.Option(help="debt, USD notional")] = 0.0,
    cash: Annotated[float, typer.Option(help="cash, USD")] = 0.0,
    preferred: Annotated[float, typer.Option(help="preferred stock, USD notional")] = 0.0,
    avg_cost: Annotated[float | None, typer.Option(help="average BTC cost, USD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """mNAV of a treasury company: BTC NAV, EV = cap + debt + preferred - cash, mNAV = EV / NAV."""
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
        print_json(clean(asdict(m)))
        return
    console.print(
        f"BTC NAV ${m.btc_nav_usd / 1e9:,.2f}B  market cap ${m.market_cap_usd / 1e9:,.2f}B  "
        f"EV ${m.enterprise_value_usd / 1e9:,.2f}B\n"
        f"mNAV (EV) {m.mnav_ev:.3f}   mNAV (market cap) {m.mnav_mcap:.3f}   BTC/share {m.btc_per_share:.6f}\n"
        f"mNAV = 1 at BTC ${m.mnav1_btc_price:,.0f}; BTC NAV = debt + preferred at ${m.stress_btc_price:,.0f}"
    )


@app.command()
def mining(
    hashrate_ehs: Annotated[float, typer.Option(help="network hashrate, EH/s")],
    efficiency_jth: Annotated[float, typer.Option(help="rig efficiency, J/TH")],
    power_usd_kwh: Annotated[float, typer.Option(help="electricity, USD per kWh")],
    fees_btc_per_block: Annotated[float, typer.Option(help="fees per block, BTC")] = 0.0,
    subsidy_btc: Annotated[float, typer.Option(help="block subsidy, BTC")] = 3.125,
    rig_ths: Annotated[float | None, typer.Option(help="rig hashrate, TH/s (for its power draw)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Miner shutdown price: the BTC price where a rig's revenue equals its power cost."""
    from capitulation.analytics.mining import shutdown_price

    with handled():
        e = shutdown_price(
            hashrate_ehs=hashrate_ehs,
            efficiency_jth=efficiency_jth,
            power_usd_kwh=power_usd_kwh,
            fees_btc_per_block=fees_btc_per_block,
            subsidy_btc=subsidy_btc,
            rig_hashrate_ths=rig_ths,
        )
    if as_json:
        print_json(clean(asdict(e)))
        return
    console.print(
        f"shutdown price ${e.shutdown_price_usd:,.0f} per BTC  (revenue {e.revenue_btc_per_th_day:.3e} BTC/TH/day, "
        f"power cost ${e.power_cost_usd_per_th_day:.4f}/TH/day)"
    )
