"""tsauto's exception types.

Every error a user can cause is one of these, raised early, with a message that names the
setting, column, series or row at fault and says what would be valid.  The CLI prints the
message of any ``TsautoError`` and exits non-zero without a traceback.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable


class TsautoError(Exception):
    """Base class of every error tsauto raises on purpose."""


class SettingsError(TsautoError, ValueError):
    """A setting or argument has an invalid value."""


class DataError(TsautoError, ValueError):
    """The data cannot be used as given."""


class ColumnNotFoundError(DataError):
    """A column named in the settings is not in the data."""


class FrequencyError(DataError):
    """The time column has no single regular frequency."""


class DuplicateTimestampsError(DataError):
    """A series has several rows for one timestamp and no aggregation was asked for.
    ``rows`` says which, without the advice (a caller that has no ``target_aggregation=`` to
    offer gives its own)."""

    def __init__(self, message: str, rows: str = ""):
        super().__init__(message)
        self.rows = rows or message


class ShortSeriesError(DataError):
    """Series are too short for the horizon and validation asked for."""


class MissingFutureError(DataError):
    """Known-future covariates are missing for periods a forecast needs."""


class NoModelError(TsautoError, RuntimeError):
    """A fit ended without a usable trial: every trial failed, timed out, was canceled or has
    no score, or no trial could be refitted."""


class NotFittedError(TsautoError, RuntimeError):
    """A model was used before it was fitted."""


class ExportError(TsautoError, ValueError):
    """A model, or one part of it (a learner, a featurizer, a target transform...), cannot be
    written as an ONNX graph; the message names the part and what would export."""


def closest_hint(name: str, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' when a close match exists, else ''."""
    match = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean '{match[0]}'?" if match else ""


def preview(items: Iterable[object], limit: int = 5) -> str:
    """A short, readable list of items: the first few, then how many more."""
    items = list(items)
    shown = ", ".join(repr(str(i)) if isinstance(i, str) else str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def is_int(value, minimum: int = 1) -> bool:
    """Whether ``value`` is a whole number (Python or numpy) of at least ``minimum``.  A bool is
    not one: ``horizon=True`` is a mistake, not 1."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= minimum


def is_number(value) -> bool:
    """Whether ``value`` is a real number (Python or numpy), a bool excepted."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def check_int(value, name: str, minimum: int = 1, *, or_none: bool = False) -> int | None:
    """``value`` as an int when ``is_int(value, minimum)`` (or None when ``or_none`` allows it);
    else a SettingsError naming ``name``, what it got and what would be valid."""
    if or_none and value is None:
        return None
    if not is_int(value, minimum):
        wanted = "a positive integer (1 or more)" if minimum == 1 else f"an integer >= {minimum}"
        raise SettingsError(f"{name} must be {wanted}{' or None' if or_none else ''}, "
                            f"got {value!r}.")
    return int(value)

