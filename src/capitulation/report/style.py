"""Shared look of the report's plotly figures."""

LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=30, t=50, b=40))

BTC_COLOUR = "#f7931a"
"""BTC's own line and marker: bitcoin orange reads on the light page and in dark mode (black vanished there)."""
INK = "#808080"
"""Reference lines (spot, outlines): a mid grey, visible on light and dark backgrounds."""
