"""Shared look of the report's plotly figures."""

LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=30, t=50, b=40))
