"""What every metric result shares: plain frozen dataclasses that carry the issue keys behind
them, and one conversion to JSON for snapshots and ``metrics --json``.

A result never reports a made-up number: where there is nothing to measure it holds ``None``
("no data"), never 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

_PLAIN = (str, int, bool, type(None))
# Each result dataclass's field names: ``dataclasses.fields`` costs more than the conversion
# of a small result, and a run converts hundreds of thousands.
_FIELDS: dict[type, tuple[str, ...]] = {}


def as_json(value: Any) -> Any:
    """Dataclasses, tuples, dates and floats as JSON-ready values; floats rounded to 4 places
    so that a recomputation of the same data stores the same snapshot."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return None if math.isnan(value) else round(value, 4)
    if kind is tuple or kind is list:
        # Key lists dominate snapshots (tens of thousands of strings): skip the dispatch.
        return [item if type(item) is str else as_json(item) for item in value]
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: as_json(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return [as_json(item) for item in sorted(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` percentile (0..1) by linear interpolation between closest ranks (the
    method of numpy's default and of most spreadsheets); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 0.5)


def p85(values: Sequence[float]) -> float | None:
    return percentile(values, 0.85)
