"""What a user may type on the command line, in a module that imports nothing heavy: the choices, defaults
and grammar help its options show, so `capitulation <cmd> --help` builds without pandas or the analytics
that use them (issue 15). The modules that compute with these import them from here.
"""

from __future__ import annotations

from typing import Literal

Dealer = Literal["classic", "short_all", "trades", "trades_net"]
"""Dealer positioning for GEX (`analytics.gex.DEALER_MODELS` describes each)."""
Sticky = Literal["strike", "delta"]
"""How IV moves with spot in a GEX profile: each option keeps its vol (strike) or its delta's vol (delta)."""

DEFAULT_COUNT_AT = 5
"""Default `--notify-count`: an alert when 5 or more of the 8 signals hold, and when fewer do again."""

DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
"""The one duration grammar (`timeutil.parse_duration`): a whole number and one of these units, e.g. 30s, 5m,
1h, 30d, 4w."""
DURATION_HELP = "a whole number and a unit s, m, h, d or w (e.g. 30s, 5m, 1h, 30d, 4w; 15min also reads as 15m)"

SEED_DATE = "2026-02-05"
"""The day of the seed commentary on Strategy (MSTR) that `mnav --preset seed` reproduces (its inputs and
printed results: `analytics.treasury.SEED_INPUTS` and the rest)."""
