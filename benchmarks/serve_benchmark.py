"""Service benchmark: latency and throughput of ``tsauto serve`` on loopback, and a soak.

    .venv/bin/python benchmarks/serve_benchmark.py [--requests 200] [--soak 90] [--clients 4]

Fits a model on 100 synthetic monthly series (AutoETS: its per-series models are kept, so each
request runs them over the history it brings, without a search), saves it, and starts the
real service (`python -m tsauto.cli serve`, token from TSAUTO_TOKEN) on a free loopback port,
once with 1 worker and once with 2.  For each: ``--requests`` requests of one series' 48-month
history (a year past the training data), then a fifth as many of 100 series' histories, from ``--clients`` threads; p50 and
p99 latency and requests per second.  Then a soak of ``--soak`` seconds (2 workers) mixing good
requests with bad ones (malformed JSON, an unknown field, a missing column, a wrong token, an
oversize body), sampling the server's resident memory (all its processes) every 5 seconds.
Every request is bounded by a client timeout; the run is bounded by the counts and the soak.
Writes benchmarks/results/serve.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

import tsauto
from learners_benchmark import table  # the markdown table writer of the benchmarks
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of

TOKEN = "benchmark-token-not-secret"
ROLES = {"time_column": "month", "target_column": "sales", "grain_columns": ["item"]}


def synthetic(n_series: int, length: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    months = pd.date_range("2015-01-01", periods=length, freq="MS")
    level = rng.uniform(50, 500, (n_series, 1))
    y = level * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + 0.3 * t + rng.normal(0, 5, (n_series,
                                                                                       length))
    return pd.DataFrame({"item": np.repeat([f"item{i:03d}" for i in range(n_series)], length),
                         "month": np.tile(months, n_series), "sales": y.ravel()})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


class Server:
    def __init__(self, model_path: Path, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TSAUTO_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tsauto.cli", "serve", str(model_path), "--port",
             str(self.port), "--workers", str(workers), "--max-body-bytes", str(2_000_000)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    # Every worker answers /health; warm each with a forecast.
                    for _ in range(4 * workers):
                        httpx.post(self.base + "/forecast", json={"horizon": 1}, timeout=60,
                                   headers={"Authorization": f"Bearer {TOKEN}"})
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def fire(base: str, requests: list[dict], clients: int) -> tuple[np.ndarray, float, dict]:
    """Send ``requests`` from ``clients`` threads; latencies (s), wall time, status counts."""
    def one(req):
        with_client = req.get("client")
        start = time.perf_counter()
        r = with_client.post(base + "/forecast", **req["kw"])
        return time.perf_counter() - start, r.status_code

    clients_ = [httpx.Client(timeout=120, headers={"Authorization": f"Bearer {TOKEN}"})
                for _ in range(clients)]
    for i, req in enumerate(requests):
        req["client"] = clients_[i % clients]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        out = list(pool.map(one, requests))
    wall = time.perf_counter() - start
    for c in clients_:
        c.close()
    statuses: dict = {}
    for _, code in out:
        statuses[code] = statuses.get(code, 0) + 1
    return np.array([lat for lat, _ in out]), wall, statuses


def good(frame: pd.DataFrame, items: list[str], horizon: int = 12) -> dict:
    body = frame[frame.item.isin(items)].assign(month=lambda f: f.month.dt.strftime("%Y-%m-%d"))
    return {"kw": {"content": json.dumps({"data": body.to_dict("records"), "horizon": horizon}),
                   "headers": {"Content-Type": "application/json"}}}


def bad_requests(frame: pd.DataFrame) -> list[dict]:
    one = json.loads(good(frame, ["item000"])["kw"]["content"])
    no_target = {"data": [{k: v for k, v in r.items() if k != "sales"} for r in one["data"]]}
    return [
        {"kw": {"content": b"{broken", "headers": {"Content-Type": "application/json"}}},
        {"kw": {"json": {"horizn": 3}}},
        {"kw": {"json": no_target}},
        {"kw": {"json": {"horizon": 3}, "headers": {"Authorization": "Bearer wrong"}}},
        {"kw": {"content": b" " * 2_100_000, "headers": {"Content-Type": "application/json"}}},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--soak", type=float, default=90.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", default="benchmarks/results/serve.md")
    args = parser.parse_args()

    frame = synthetic(100, 60)
    train = frame[frame.month < "2019-01-01"]
    work = Path(tempfile.mkdtemp(prefix="tsauto-serve-bench-"))
    t0 = time.perf_counter()
    ds = TimeSeriesDataset(train, **ROLES)
    learner = registry.create("auto_ets", quantiles=(0.1, 0.5, 0.9)).fit(ds)
    learner.prepare(12)
    model = ForecastModel(learner, ds.schema(), history_of(ds), 12, (0.1, 0.5, 0.9))
    path = model.save(work / "model.pkl")
    fit_s = time.perf_counter() - t0
    items = sorted(frame.item.unique())
    # Requests bring the 48 months up to the end of the data, a year after the training end.
    recent = frame[frame.month >= "2016-01-01"]
    singles = [good(recent, [items[i % 100]]) for i in range(args.requests)]
    hundreds = [good(recent, items) for _ in range(max(args.requests // 5, 10))]

    rows, soak_rows, statuses_all = [], [], {}
    for workers in (1, 2):
        server = Server(path, workers)
        try:
            for label, reqs in (("1 series", singles), ("100 series", hundreds)):
                lat, wall, statuses = fire(server.base, [dict(r) for r in reqs], args.clients)
                assert set(statuses) == {200}, statuses
                rows.append({"workers": workers, "request": label, "requests": len(reqs),
                             "p50 (ms)": float(1000 * np.percentile(lat, 50)),
                             "p99 (ms)": float(1000 * np.percentile(lat, 99)),
                             "requests/s": len(reqs) / wall})
                print(rows[-1], flush=True)
            if workers == 2:
                mix = singles[:20] + hundreds[:2] + bad_requests(recent) * 2
                start = time.monotonic()
                while time.monotonic() - start < args.soak:
                    lat, wall, statuses = fire(server.base, [dict(r) for r in mix], args.clients)
                    for code, n in statuses.items():
                        statuses_all[code] = statuses_all.get(code, 0) + n
                    now = time.monotonic() - start
                    if not soak_rows or now - soak_rows[-1]["t"] >= 5:
                        soak_rows.append({"t": now,
                                          "rss (MB)": rss_mb(server.proc.pid),
                                          "requests": sum(statuses_all.values())})
                        print(soak_rows[-1], statuses_all, flush=True)
        finally:
            server.stop()

    first = soak_rows[min(1, len(soak_rows) - 1)]["rss (MB)"]
    last = soak_rows[-1]["rss (MB)"]
    versions = {n: metadata.version(n) for n in ("statsforecast", "fastapi", "uvicorn", "httpx",
                                                 "pandas", "numpy")}
    text = f"""# Service benchmark

Date: {dt.date.today()} · command: `python benchmarks/serve_benchmark.py --requests
{args.requests} --soak {args.soak:g} --clients {args.clients}` · tsauto {tsauto.__version__},
Python {platform.python_version()}, {", ".join(f"{k} {v}" for k, v in versions.items())} ·
{os.cpu_count()} cores (shared with other work: compare within this table).

Model: AutoETS fitted on 100 synthetic monthly series (48 months each, fit and keep the
per-series models: {fit_s:.1f} s), 3 quantiles.  Each request sends 48 months of history
(2016-2019, a year past the training end) as JSON and asks for 12 months: the service runs each series' kept ETS model over them
(statsforecast `forward`), no search.  {args.clients} client threads, loopback, bearer token.

## Latency and throughput

{table(rows, {"p50 (ms)": ".0f", "p99 (ms)": ".0f", "requests/s": ".1f"})}

## Soak ({args.soak:g} s, 2 workers, bad requests mixed in)

Each round: 20 one-series requests, 2 hundred-series requests and 10 bad ones (malformed JSON,
unknown field, missing target column, wrong token, a 2.1 MB body over the 2 MB limit).

Statuses over the soak: {", ".join(f"{k}: {v}" for k, v in sorted(statuses_all.items()))}
(no 500).  Server memory (all processes) after the first round {first:.0f} MB, at the end
{last:.0f} MB ({last - first:+.0f} MB).

{table(soak_rows, {"t": ".0f", "rss (MB)": ".1f"})}
"""
    assert 500 not in statuses_all, statuses_all
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
