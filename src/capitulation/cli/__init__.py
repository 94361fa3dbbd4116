"""The `capitulation` command line: parse, call the API, render. No math here.

One module per command group registers its commands on the shared app (`common.app`).
"""

from capitulation.cli import (
    backfill,
    backtest,
    calculators,
    dashboard,
    levels,
    leverage,
    markets,
    options,
    report,
    watch,
)
from capitulation.cli.common import app

__all__ = [
    "app",
    "backfill",
    "backtest",
    "calculators",
    "dashboard",
    "levels",
    "leverage",
    "markets",
    "options",
    "report",
    "watch",
]
