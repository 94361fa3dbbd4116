"""Shared look of the report's plotly figures and of every status (report, backtest strips, dashboard)."""

from dataclasses import dataclass

LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=30, t=50, b=40))

BTC_COLOUR = "#f7931a"
"""BTC's own line and marker: bitcoin orange reads on the light page and in dark mode (black vanished there)."""
INK = "#808080"
"""Reference lines (spot, outlines): a mid grey, visible on light and dark backgrounds."""


@dataclass(frozen=True)
class StatusStyle:
    status: str
    code: int  # the heatmap's z value
    colour: str
    legend: str


STYLES = (
    StatusStyle("does not hold", 0, "#d9d9d9", "does not hold: condition not met"),
    StatusStyle("holds", 1, "#0072b2", "holds: the signal's condition is met"),
    StatusStyle("not enough data", 2, "#e69f00", "not enough data: a table absent, too old or too short"),
)
CODES = {s.status: s.code for s in STYLES}
COLOURS = {s.status: s.colour for s in STYLES}
