"""Backtest: the eight verdicts at every date of history (`run`) and how they scored (`analytics.scorecard`)."""
