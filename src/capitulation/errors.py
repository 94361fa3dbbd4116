"""One exception family for the package; the CLI turns each into a one-line message and exit code 2."""


class CapitulationError(Exception):
    """Base class of every error capitulation raises on purpose."""


class DataError(CapitulationError):
    """Input data is missing, malformed or inconsistent (names the table, column and row when known)."""


class SourceError(CapitulationError):
    """A data source could not be read or reached (file missing, HTTP error, rate limit)."""


class StoreError(CapitulationError):
    """The history store could not be read or written."""
