"""One exception family for the package; the CLI turns each into a one-line message and exit code 2."""


class CapitulationError(Exception):
    """Base class of every error capitulation raises on purpose."""


def one_line(text: str) -> str:
    """`text` on one line: its non-blank lines, stripped, joined by a space (a library's multi-line message
    such as a parser's caret diagram stays readable after `error: `)."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def describe(exc: BaseException) -> str:
    """One line for a failure: the package's own message, else the exception's type and message."""
    return one_line(str(exc) if isinstance(exc, CapitulationError) else f"{type(exc).__name__}: {exc}")


class DataError(CapitulationError):
    """Input data is missing, malformed or inconsistent (names the table, column and row when known)."""


class SourceError(CapitulationError):
    """A data source could not be read or reached (file missing, HTTP error, rate limit)."""


class StoreError(CapitulationError):
    """The history store could not be read or written."""
