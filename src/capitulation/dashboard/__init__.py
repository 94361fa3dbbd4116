"""The web dashboard (Dash): reads a snapshot and the history store and renders them; no math here."""

from capitulation.dashboard.app import create_app

__all__ = ["create_app"]
