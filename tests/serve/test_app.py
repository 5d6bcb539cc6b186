"""The REST service with FastAPI's test client, and one real uvicorn process on loopback."""

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn import datasets as sk

from tsauto.data.tabular import TabularDataset
from tsauto.errors import SettingsError
from tsauto.learners.tabular import registry as tabular
from tsauto.model import ForecastModel, TabularModel
from tsauto.serve import ServeConfig, create_app
from tsauto.serve.config import resolve_token

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def forecaster(statistical):
    return statistical


@pytest.fixture(scope="module")
def classifier():
    frame = sk.load_iris(as_frame=True).frame
    data = TabularDataset(frame, "target", "classification")
    learner = tabular.create("logistic_regression", task="classification").fit(data.X, data.y)
    return TabularModel(learner, data.schema())


@pytest.fixture(scope="module")
def client(forecaster):
    with TestClient(create_app(forecaster, ServeConfig(token=TOKEN))) as c:
        yield c


def history(panel, start="2022-01-01", end="2024-01-01"):
    frame = panel[(panel.date >= start) & (panel.date < end)].copy()
    frame["date"] = frame.date.dt.strftime("%Y-%m-%d")
    return frame


def test_health_model_and_docs(client):
    assert client.get("/health").json() == {"status": "ok", "task": "forecasting"}
    info = client.get("/model", headers=AUTH).json()
    assert info["task"] == "forecasting" and info["horizon"] == 6
    assert info["columns"]["time"] == "date" and info["columns"]["grain"] == ["store"]
    assert info["quantiles"] == [0.1, 0.5, 0.9] and info["any_quantiles"] is True
    assert {"tsauto", "pandas", "fastapi"} <= set(info["versions"])
    assert info["limits"]["max_rows"] == 200_000 and "token" not in info["limits"]
    assert client.get("/docs").status_code == 200
    assert "/forecast" in client.get("/openapi.json").json()["paths"]


def test_token_is_required(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        for method, path in (("GET", "/model"), ("POST", "/forecast")):
            r = client.request(method, path, headers=headers, json={})
            assert r.status_code == 401 and "bearer token" in r.json()["error"]
            assert r.headers["www-authenticate"] == "Bearer"


def test_forecast_json_and_csv(client, forecaster, panel):
    r = client.post("/forecast", headers=AUTH,
                    json={"data": history(panel).to_dict("records"), "level": [80, 95]})
    assert r.status_code == 200, r.text
    body = r.json()
    frame = pd.DataFrame(body["forecast"])
    assert len(frame) == 18 and frame.date.min().startswith("2024-01-01")
    assert {"q0.025", "q0.975", "store"} <= set(frame.columns)
    assert body["unseen_series"] == [] and body["fallbacks"] == {}
    expected = forecaster.forecast(data=history(panel), level=[80, 95])
    np.testing.assert_allclose(frame.forecast, expected.forecast)
    csv = history(panel).to_csv(index=False)
    r = client.post("/forecast?horizon=3&quantiles=0.05,0.95", headers={**AUTH,
                    "Content-Type": "text/csv"}, content=csv)
    assert r.status_code == 200, r.text
    frame = pd.DataFrame(r.json()["forecast"])
    assert len(frame) == 9 and {"q0.05", "q0.95"} <= set(frame.columns)
    # No body: continue the training history.
    r = client.post("/forecast", headers=AUTH)
    assert r.status_code == 200 and len(r.json()["forecast"]) == 18


def test_unseen_series_are_listed(client, panel):
    data = history(panel).replace({"store": {"s1": "brand-new"}})
    body = client.post("/forecast", headers=AUTH, json={"data": data.to_dict("records")}).json()
    assert body["unseen_series"] == ["brand-new"] and "brand-new" in body["fallbacks"]


@pytest.mark.parametrize("kwargs,status,words", [
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
    ({"json": {"horizon": 0}}, 422, "horizon"),
    ({"json": {"horizn": 3}}, 422, "horizn"),
    ({"json": {"data": [{"date": "2023-01-01", "store": "s0"}]}}, 422, "sales"),
    ({"json": {"data": []}}, 422, "no rows"),
    ({"json": {"level": [150]}}, 422, "between 0 and 100"),
    ({"json": {"horizon": True}}, 422, "horizon: Input should be a valid integer"),  # not 1
    ({"json": {"level": [True]}}, 422, "level.0: Input should be a valid number"),
    ({"content": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "text/csv"}}, 400, "CSV"),
    ({"content": bytes(range(256)) * 4, "headers": {"Content-Type": "text/csv"}}, 400, "binary"),
    ({"content": b"\x00\x01\x02abc", "headers": {"Content-Type": "text/csv"}}, 400, "binary"),
    ({"content": b"<a/>", "headers": {"Content-Type": "application/xml"}}, 415, "text/csv"),
    ({"json": {"horizon": 5000}}, 413, "max_horizon"),
])
def test_bad_requests_get_a_json_4xx_with_the_message(client, kwargs, status, words):
    headers = {**AUTH, **kwargs.pop("headers", {})}
    r = client.post("/forecast", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert words in r.json()["error"] and "Traceback" not in r.text


def test_limits_on_body_rows_and_series(forecaster, panel):
    config = ServeConfig(token=TOKEN, max_body_bytes=6_000, max_rows=50, max_series=2)
    big = {"data": history(panel, "2020-01-01").to_dict("records")}   # 144 rows
    rows = {"data": history(panel, "2022-01-01").to_dict("records")}  # 72 rows
    three = {"data": history(panel, "2023-01-01").to_dict("records")}  # 36 rows, 3 series
    assert len(json.dumps(big)) > 6_000 > len(json.dumps(rows))
    with TestClient(create_app(forecaster, config)) as c:
        r = c.post("/forecast", headers=AUTH, json=big)
        assert r.status_code == 413 and "max_body_bytes" in r.json()["error"]
        r = c.post("/forecast", headers=AUTH, json=rows)
        assert r.status_code == 413 and "max_rows" in r.json()["error"]
        r = c.post("/forecast", headers=AUTH, json=three)
        assert r.status_code == 413 and "max_series" in r.json()["error"]
        # A chunked body without Content-Length is cut off as well.
        r = c.post("/forecast", headers={**AUTH, "Content-Type": "application/json"},
                   content=iter([b" " * 4_000, b" " * 4_000]))
        assert r.status_code == 413 and "max_body_bytes" in r.json()["error"]


def test_wrong_task_is_refused(client, classifier):
    r = client.post("/predict", headers=AUTH, json={"rows": [{"a": 1}]})
    assert r.status_code == 409 and "POST /forecast" in r.json()["error"]
    with TestClient(create_app(classifier, ServeConfig(token=TOKEN))) as c:
        r = c.post("/forecast", headers=AUTH, json={})
        assert r.status_code == 409 and "POST /predict" in r.json()["error"]
        rows = sk.load_iris(as_frame=True).frame.head(5)
        r = c.post("/predict", headers=AUTH, json={"rows": rows.to_dict("records"),
                                                   "probabilities": True})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["predictions"] == classifier.predict(rows).tolist()
        assert len(body["probabilities"]) == 5
        r = c.post("/predict?probabilities=true", headers={**AUTH, "Content-Type": "text/csv"},
                   content=rows.to_csv(index=False))
        assert r.status_code == 200 and r.json()["predictions"] == body["predictions"]
        assert len(r.json()["probabilities"]) == 5
        r = c.post("/predict?probabilities=perhaps", headers={**AUTH, "Content-Type": "text/csv"},
                   content=rows.to_csv(index=False))
        assert r.status_code == 422 and "probabilities='perhaps' is not true or false" in \
            r.json()["error"]
        header, *lines = rows.to_csv(index=False).splitlines()  # a field past the header
        r = c.post("/predict", headers={**AUTH, "Content-Type": "text/csv"},
                   content="\n".join([header, *[line + ",extra" for line in lines]]))
        assert r.status_code == 400 and "more fields than the header" in r.json()["error"]
        r = c.post("/predict", headers=AUTH, json={"rows": [{"petal length (cm)": 1.0}]})
        assert r.status_code == 422 and "sepal length" in r.json()["error"]
        assert c.get("/model", headers=AUTH).json()["classes"] == [0, 1, 2]


def test_concurrent_requests_answer_as_sequential_ones(client, panel):
    bodies = [{"data": history(panel, start).to_dict("records"), "horizon": h}
              for start, h in (("2021-01-01", 6), ("2022-06-01", 3), ("2020-01-01", 9))]
    sequential = [client.post("/forecast", headers=AUTH, json=b).json() for b in bodies]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda b: client.post("/forecast", headers=AUTH, json=b).json(),
                                bodies * 4))
    assert answers == sequential * 4


def test_unexpected_errors_are_a_generic_500_and_timeouts_a_503(forecaster, monkeypatch):
    app = create_app(forecaster, ServeConfig(token=None, timeout_s=0.2))
    with TestClient(app, raise_server_exceptions=False) as c:
        monkeypatch.setattr(ForecastModel, "forecast", lambda *a, **k: 1 / 0)
        r = c.post("/forecast", json={})
        assert r.status_code == 500 and r.json()["error"].startswith("internal error (id ")
        assert "ZeroDivision" not in r.text and "Traceback" not in r.text
        monkeypatch.setattr(ForecastModel, "forecast", lambda *a, **k: time.sleep(1.0))
        r = c.post("/forecast", json={})
        assert r.status_code == 503 and "timeout_s" in r.json()["error"]


def test_token_sources_and_no_auth_only_on_loopback(tmp_path, monkeypatch):
    monkeypatch.delenv("TSAUTO_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="TSAUTO_TOKEN"):
        resolve_token(None, False, "127.0.0.1")
    with pytest.raises(SettingsError, match="loopback"):
        resolve_token(None, True, "0.0.0.0")
    assert resolve_token(None, True, "::1") is None
    assert resolve_token(None, True, "localhost") is None
    (tmp_path / "token").write_text(" secret \n")
    assert resolve_token(tmp_path / "token", False, "0.0.0.0") == "secret"
    monkeypatch.setenv("TSAUTO_TOKEN", "from-env")
    assert resolve_token(None, False, "10.0.0.1") == "from-env"
    with pytest.raises(SettingsError, match="max_rows"):
        ServeConfig(max_rows=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serve_refuses_no_auth_off_loopback(forecaster, tmp_path):
    path = forecaster.save(tmp_path / "model.pkl")
    result = subprocess.run([sys.executable, "-m", "tsauto.cli", "serve", str(path), "--no-auth",
                             "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "loopback" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_real_uvicorn_process_on_loopback(forecaster, panel, tmp_path):
    path = forecaster.save(tmp_path / "model.pkl")
    (tmp_path / "token").write_text(TOKEN)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tsauto.cli", "serve", str(path), "--port",
                             str(port), "--token-file", str(tmp_path / "token")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "TSAUTO_TOKEN": ""})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the service did not start in 45 s"
            time.sleep(0.2)
        r = httpx.post(base + "/forecast", headers={**AUTH, "Content-Type": "text/plain"},
                       timeout=30, content=json.dumps({"horizon": 2}))
        assert r.status_code == 415
        r = httpx.post(base + "/forecast", headers=AUTH, timeout=30,
                       json={"data": history(panel).to_dict("records"), "horizon": 2})
        assert r.status_code == 200, r.text
        assert len(r.json()["forecast"]) == 6
        assert httpx.get(base + "/model", timeout=5).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
