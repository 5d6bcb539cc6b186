"""Fit a small model, serve it with `tsauto serve`, and call the service over HTTP.

    .venv/bin/python examples/call_service.py

The service runs on 127.0.0.1 with a bearer token from the TSAUTO_TOKEN environment variable
(never a command-line argument).  It is called with the recent history of each series, as a
deployed model would be: the forecast starts after the data sent, without refitting.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

from tsauto import AutoML, ForecastSettings, datasets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 10)
    frame = datasets.load_frame("aus_accommodation")[["State", "Date", "Takings"]]
    train = frame[frame.Date < "2014-01-01"]
    settings = ForecastSettings(time_column="Date", target_column="Takings",
                                grain_columns=["State"], horizon=4, time_budget="1min",
                                allowed_models=["auto_ets", "seasonal_naive", "lightgbm"],
                                max_trials=4, verbosity=0)
    model_path = AutoML(settings).fit(train).best_model.save(Path("out/serve_example/model.pkl"))

    token = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "tsauto.cli", "serve", str(model_path),
                               "--port", str(port)], env={**os.environ, "TSAUTO_TOKEN": token})
    try:
        while True:  # wait until the service answers
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        client = httpx.Client(base_url=base, timeout=60,
                              headers={"Authorization": f"Bearer {token}"})
        print(client.get("/model").json())

        # Six years of recent history, ending two years after the training data.
        recent = frame[frame.Date >= "2010-01-01"].assign(Date=lambda f: f.Date.astype(str))
        answer = client.post("/forecast", json={"data": recent.to_dict("records"),
                                                "horizon": 4, "level": [80]}).json()
        print(pd.DataFrame(answer["forecast"]).head(8))
        print("unseen series:", answer["unseen_series"], "fallbacks:", answer["fallbacks"])

        # The same as CSV, with the options as query parameters.
        csv = client.post("/forecast?horizon=2", content=recent.to_csv(index=False),
                          headers={"Content-Type": "text/csv"})
        print(pd.DataFrame(csv.json()["forecast"]).head(4))

        # Errors are JSON with tsauto's message.
        bad = client.post("/forecast", json={"data": [{"State": "Victoria", "Date": "2020-01-01"}]})
        print(bad.status_code, bad.json())
        print(httpx.get(base + "/model").status_code, "without the token")
    finally:
        server.terminate()
        server.wait(timeout=30)
