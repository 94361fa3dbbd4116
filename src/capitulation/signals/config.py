"""Thresholds as configuration: each signal's `Thresholds` read from a TOML file.

The bundled file (`capitulation/data/thresholds.toml`) lists every scalar field of every signal's
`Thresholds` with its default and rationale; a user copies it, edits values and passes it with
`--thresholds FILE`. Sections are signal names, keys are field names; a field left out keeps its default;
the text "learned" (for the fields whose default is None) means learned at each date from the snapshot's
own history. Tuple-valued fields (e.g. the treasury signal's share-price basis table) are data, not
thresholds, and are not configurable here.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from capitulation.errors import DataError, SourceError
from capitulation.signals import MODULES

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "thresholds.toml"
LEARNED = "learned"


def _value(path: Path, where: str, default: Any, value: Any) -> Any:
    """`value` checked against the field's default: numbers for numbers (an int is taken for a float),
    text for text, "learned" or a number where the default is None (learned)."""
    if default is None:
        if value == LEARNED:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise DataError(f"{path}: {where}: expected a number or {LEARNED!r}, got {value!r}")
    if isinstance(default, bool) or isinstance(value, bool):
        if type(value) is not type(default):
            raise DataError(f"{path}: {where}: expected {type(default).__name__}, got {value!r}")
        return value
    if isinstance(default, float) and isinstance(value, int | float):
        return float(value)
    if isinstance(default, int) and isinstance(value, int):
        return value
    if isinstance(default, str) and isinstance(value, str):
        return value
    raise DataError(f"{path}: {where}: expected {type(default).__name__}, got {value!r}")


def configurable(name: str) -> dict[str, Any]:
    """The scalar fields of signal `name`'s `Thresholds` and their defaults."""
    fields = dataclasses.fields(MODULES[name].Thresholds)
    return {f.name: f.default for f in fields if not isinstance(f.default, tuple)}


def load(path: str | Path = BUNDLED) -> dict[str, Any]:
    """Every signal's `Thresholds` from the TOML file at `path` (defaults for what it leaves out).

    `SourceError` when the file is missing; `DataError` naming the file, section and key for invalid TOML,
    an unknown signal or field, or a value of the wrong type. The signal's own `Thresholds` checks nothing
    more: a value outside a sensible range is the user's experiment.
    """
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"thresholds file not found: {p}")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not valid TOML ({exc})") from None
    unknown = sorted(set(doc) - set(MODULES))
    if unknown:
        raise DataError(f"{p}: unknown signal(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
    out = {}
    for name, module in MODULES.items():
        section = doc.get(name, {})
        if not isinstance(section, dict):
            raise DataError(f"{p}: [{name}] must be a table of field = value")
        fields = configurable(name)
        extra = sorted(set(section) - set(fields))
        if extra:
            raise DataError(f"{p}: [{name}] unknown field(s) {', '.join(extra)}; known: {', '.join(fields)}")
        values = {k: _value(p, f"[{name}] {k}", fields[k], v) for k, v in section.items()}
        out[name] = module.Thresholds(**values)
    return out
