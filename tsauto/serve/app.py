"""The FastAPI application: one loaded model, read-only, behind a bearer token and limits.

Every error leaves as JSON ``{"error": message, "status": code}``: a bad body or setting is a
4xx with tsauto's message; anything unexpected is a 500 with a generic message and an id that
the server log repeats next to the traceback, which never leaves the server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

import tsauto
from tsauto.data.dataset import SERIES_ID
from tsauto.errors import TsautoError
from tsauto.model import ForecastModel, TabularModel
from tsauto.serve.config import ServeConfig
from tsauto.serve.payload import (
    BadRequest,
    ForecastRequest,
    PredictRequest,
    check_rows,
    floats,
    parse_csv,
    parse_json,
    records_frame,
    respond,
)
from tsauto.versions import versions

log = logging.getLogger("tsauto.serve")

_JSON = ("", "application/json")
_FLAGS = {"true": True, "1": True, "false": False, "0": False}  # a boolean query parameter
_CSV = ("text/csv", "application/csv")
_VERSIONED = ("pandas", "numpy", "scikit-learn", "statsforecast", "lightgbm", "torch", "prophet",
              "fastapi", "uvicorn")


def _body_doc(model: type, csv: str) -> dict:
    """OpenAPI text for a body that may be JSON (the pydantic model) or CSV."""
    return {"requestBody": {"required": False, "content": {
        "application/json": {"schema": model.model_json_schema(
            ref_template="#/components/schemas/{model}")},
        "text/csv": {"schema": {"type": "string"}, "example": csv}}}}



def describe(model: ForecastModel | TabularModel) -> dict:
    """What a client needs to call the model: task, columns, horizon, quantiles, versions."""
    if isinstance(model, ForecastModel):
        s = model.schema
        return {"task": "forecasting", "model": model.description or repr(model.learner),
                "learner": model.learner.name, "horizon": model.horizon, "freq": s.grid.freq,
                "columns": {"time": s.time_column, "target": s.target_column,
                            "grain": [c for c in s.grain_columns if c != SERIES_ID],
                            "known_covariates": list(s.known_covariates),
                            "past_covariates": list(s.past_covariates),
                            "static_features": list(s.static_features)},
                "quantiles": list(model.quantiles),
                "any_quantiles": model.any_quantiles,
                "n_series": int(len(s.series)), "versions": versions(_VERSIONED)}
    s = model.schema
    return {"task": s.task, "model": model.description or repr(model.learner),
            "columns": {"features": list(s.columns), "target": s.target_column},
            "classes": None if s.classes is None else [_plain(c) for c in s.classes],
            "versions": versions(_VERSIONED)}


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def count_series(model: ForecastModel, data: pd.DataFrame) -> int:
    """Series in a request's history (0 when its grain columns are missing: the forecast then
    fails with the message naming them)."""
    if SERIES_ID in data.columns:
        return int(data[SERIES_ID].nunique())
    grains = [c for c in model.schema.grain_columns if c != SERIES_ID]
    if not grains:
        return 1
    if any(c not in data.columns for c in grains):
        return 0
    return int(len(data[grains].drop_duplicates()))


def create_app(model: ForecastModel | TabularModel, config: ServeConfig | None = None) -> FastAPI:
    """The service for one loaded model (load it with ``tsauto.model.load_model``)."""
    if not isinstance(model, (ForecastModel, TabularModel)):
        raise TypeError(f"create_app needs a tsauto model, got {type(model).__name__}")
    config = config or ServeConfig()
    forecasting = isinstance(model, ForecastModel)
    task = "forecasting" if forecasting else model.task
    info = describe(model)
    # Forecasts run in these threads: the model is read-only, so they share it; the event loop
    # stays free to answer /health and to time requests out.
    executor = ThreadPoolExecutor(config.threads, thread_name_prefix="tsauto-serve")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    # The page at /docs needs no token: it names the task, never the model's details.
    app = FastAPI(title="tsauto model service", version=tsauto.__version__, lifespan=lifespan,
                  description=f"Serves one {task} model. Send 'Authorization: Bearer <token>' "
                  f"unless the service runs with --no-auth. See docs/serving.md.")

    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": message, "status": status}, status, headers=headers)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error(exc.status, exc.message, headers)

    @app.exception_handler(TsautoError)
    async def tsauto_error(request: Request, exc: TsautoError):
        return error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        return error(422, "invalid request: " + "; ".join(parts))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        ref = uuid.uuid4().hex[:12]
        log.error("request %s %s failed (error id %s)", request.method, request.url.path, ref,
                  exc_info=exc)
        return error(500, f"internal error (id {ref}); the server log has the details.")

    def authorize(request: Request) -> None:
        if config.token is None:
            return
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), config.token.encode()):
            raise BadRequest(401, "a valid bearer token is required: send the header "
                                  "'Authorization: Bearer <token>'.")

    async def read_body(request: Request) -> bytes:
        limit = config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BadRequest(413, f"the body has {int(declared)} bytes; this service takes at "
                                  f"most {limit} (max_body_bytes).")
        chunks, size = [], 0
        async for chunk in request.stream():  # bounded even without a Content-Length
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, f"the body is over {limit} bytes (max_body_bytes).")
            chunks.append(chunk)
        return b"".join(chunks)

    def content_type(request: Request) -> str:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _JSON + _CSV:
            raise BadRequest(415, f"content type '{kind}' is not served; send application/json "
                                  f"or text/csv.")
        return kind

    async def compute(fn):
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(executor, fn), config.timeout_s)
        except TimeoutError:
            raise BadRequest(503, f"the request took longer than {config.timeout_s:g} s "
                                  f"(timeout_s); send fewer series or a shorter horizon.") from None

    def wrong_task(endpoint: str, other: str) -> BadRequest:
        return BadRequest(409, f"this service serves a {task} model: {endpoint} does not apply; "
                               f"use {other}.")

    @app.get("/health", summary="Liveness: answers while the service runs (no token needed)")
    async def health():
        return {"status": "ok", "task": task}

    @app.get("/model", summary="The model: task, horizon, columns, quantiles, versions, limits")
    async def model_info(request: Request):
        authorize(request)
        return {**info, "limits": config.limits()}

    @app.post("/forecast", summary="Forecast from the recent history in the body",
              openapi_extra=_body_doc(ForecastRequest, "time,series,value\n2024-01-01,a,3.2\n"))
    async def forecast(request: Request):
        """JSON: a ForecastRequest.  CSV: the recent history, with ``horizon``, ``level`` or
        ``quantiles`` as query parameters (a model with known covariates needs JSON, for
        ``future``).  Answers ``forecast`` (records), ``unseen_series`` and ``fallbacks``."""
        authorize(request)
        if not forecasting:
            raise wrong_task("POST /forecast", "POST /predict")
        kind = content_type(request)
        body = await read_body(request)
        if kind in _JSON:
            req = parse_json(ForecastRequest, body or b"{}")
            data = records_frame(req.data, "data", config.max_rows)
            future = records_frame(req.future, "future", config.max_rows)
            horizon, level, quantiles = req.horizon, req.level, req.quantiles
        else:
            data, future = parse_csv(body, "the recent history"), None
            check_rows(len(data), "the CSV body", config.max_rows)
            q = request.query_params
            horizon = q.get("horizon")
            if horizon is not None:
                if not horizon.isdigit() or int(horizon) < 1:
                    raise BadRequest(422, f"query parameter horizon={horizon!r} must be a "
                                          f"positive integer.")
                horizon = int(horizon)
            level, quantiles = floats(q.get("level"), "level"), floats(q.get("quantiles"),
                                                                        "quantiles")
        if horizon is not None and horizon > config.max_horizon:
            raise BadRequest(413, f"horizon={horizon} is over this service's limit of "
                                  f"{config.max_horizon} (max_horizon).")
        if data is not None and count_series(model, data) > config.max_series:
            raise BadRequest(413, f"the history holds {count_series(model, data)} series; this "
                                  f"service takes at most {config.max_series} per request "
                                  f"(max_series).")
        frame = await compute(lambda: model.forecast(horizon=horizon, future=future, data=data,
                                                     level=level, quantiles=quantiles))
        text = respond(forecast=frame, unseen_series=frame.attrs.get("unseen_series", []),
                       fallbacks=frame.attrs.get("fallbacks", {}))
        return Response(text, media_type="application/json")

    @app.post("/predict", summary="Predict rows with a classification or regression model",
              openapi_extra=_body_doc(PredictRequest, "age,fare\n22,7.25\n"))
    async def predict(request: Request):
        """JSON: a PredictRequest.  CSV: the rows, with ``probabilities=true`` as a query
        parameter.  Answers ``predictions`` (one per row) and, when asked, ``probabilities``."""
        authorize(request)
        if forecasting:
            raise wrong_task("POST /predict", "POST /forecast")
        kind = content_type(request)
        body = await read_body(request)
        if kind in _JSON:
            req = parse_json(PredictRequest, body)
            rows, proba = records_frame(req.rows, "rows", config.max_rows), req.probabilities
        else:
            rows = parse_csv(body, "the rows")
            check_rows(len(rows), "the CSV body", config.max_rows)
            asked = request.query_params.get("probabilities", "false").lower()
            if asked not in _FLAGS:
                raise BadRequest(422, f"probabilities={asked!r} is not true or false (query "
                                      f"parameter; also 1 or 0).")
            proba = _FLAGS[asked]
        if proba and task != "classification":
            raise BadRequest(422, "probabilities are for classification models; this one does "
                                  "regression.")

        def run():
            out = {"predictions": model.predict(rows).tolist()}
            if proba:
                out["probabilities"] = model.predict_proba(rows)
            return out

        return Response(respond(**await compute(run)), media_type="application/json")

    app.state.model = model
    app.state.config = config
    return app
