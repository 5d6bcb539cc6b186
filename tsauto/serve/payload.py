"""Request bodies in, JSON out: JSON objects (records) or CSV, parsed into frames with the
errors a client can act on."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError

from tsauto.data.io import json_records, read_csv_rows

Records = list[dict[str, Any]]


class BadRequest(Exception):
    """A request the service refuses: its HTTP status and the message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ForecastRequest(BaseModel):
    """``POST /forecast`` as JSON.  Every field is optional: without ``data`` the model
    continues its training history."""

    model_config = ConfigDict(extra="forbid")

    data: Records | None = Field(None, description="Recent history, one object per row with "
                                 "the training columns (time, target, grain columns, "
                                 "covariates); the forecast starts after each series' last row.")
    future: Records | None = Field(None, description="Known covariates for the periods to "
                                   "forecast: time, grain columns and each known covariate.")
    # Strict: JSON true is not 1 here either (model.forecast refuses horizon=True)
    horizon: StrictInt | None = Field(None, ge=1, description="Periods to forecast (default: "
                                      "the model's horizon).")
    quantiles: list[StrictFloat] | None = Field(None, description="Quantiles to return instead "
                                                "of the fitted ones (statistical learners).")
    level: list[StrictFloat] | None = Field(None, description="Central interval levels, e.g. "
                                            "[80, 95]: quantiles 0.5 -/+ level/200.")


class PredictRequest(BaseModel):
    """``POST /predict`` as JSON (tabular models)."""

    model_config = ConfigDict(extra="forbid")

    rows: Records = Field(description="One object per row with the training feature columns.")
    probabilities: StrictBool = Field(False, description="Also return class probabilities "
                                "(classification).")


def parse_json(model: type[BaseModel], body: bytes) -> BaseModel:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise BadRequest(400, f"the body is not valid JSON: {errors[0]['msg']}.") from None
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                 for e in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise BadRequest(422, "invalid request: " + "; ".join(parts) + more) from None


def parse_csv(body: bytes, what: str) -> pd.DataFrame:
    if not body.strip():
        raise BadRequest(400, f"the CSV body ({what}) is empty.")
    if b"\x00" in body:  # text never holds NUL; pandas would read such bytes as a header
        raise BadRequest(400, f"the CSV body ({what}) is binary, not UTF-8 CSV text.")
    try:
        return read_csv_rows(io.BytesIO(body))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadRequest(400, f"the CSV body ({what}) could not be read: {first}") from None


def records_frame(records: Records | None, what: str, max_rows: int) -> pd.DataFrame | None:
    if records is None:
        return None
    check_rows(len(records), what, max_rows)
    if not records:
        raise BadRequest(422, f"{what} has no rows.")
    return pd.DataFrame.from_records(records)


def check_rows(n: int, what: str, max_rows: int) -> None:
    if n > max_rows:
        raise BadRequest(413, f"{what} has {n} rows; this service takes at most {max_rows} "
                         f"rows per request (max_rows).")


def floats(text: str | None, name: str) -> list[float] | None:
    """A comma-separated query parameter (?level=80,95) as numbers."""
    if text is None or text == "":
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise BadRequest(422, f"query parameter {name}={text!r} must be comma-separated "
                         f"numbers, e.g. {name}=80,95.") from None




def respond(**parts: Any) -> str:
    """A JSON object whose frame-valued members are written by ``json_records``."""
    out = []
    for key, value in parts.items():
        text = json_records(value) if isinstance(value, pd.DataFrame) else json.dumps(
            value, default=_plain)
        out.append(f"{json.dumps(key)}:{text}")
    return "{" + ",".join(out) + "}"


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
