"""The TCN on CUDA: trains, forecasts, matches the CPU's accuracy, and a CUDA-trained learner
loads and forecasts on a machine without a GPU (it pickles numpy arrays only).

    python benchmarks/tcn_cuda_check.py [--epochs 30]

Data: bundled ``aus_retail`` (152 monthly series), last 12 months held out.  Fits the same
configuration with device='cpu' and device='cuda' (same seed) and prints wall times, MASE of
each against the holdout, the largest difference between the two forecasts, and checks that
the CUDA-trained learner, unpickled, forecasts on the CPU exactly as it did on the GPU.  Needs
only torch, numpy, pandas and scipy beside tsauto's data and TCN modules.
"""

from __future__ import annotations

import argparse
import io
import pickle
import time

import numpy as np
import torch

from tsauto import datasets
from tsauto.evaluation.metrics import evaluate
from tsauto.learners import create


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    ds = datasets.load("aus_retail")
    train, test = ds.split_last(12)
    actual = test.frame[ds.target_column].to_numpy()
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}, "
          f"device: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-'}")
    results = {}
    for device in ["cpu", "cuda"]:
        learner = create("tcn", quantiles=(0.1, 0.5, 0.9), seed=7, device=device,
                         max_epochs=args.epochs, num_threads=8)
        start = time.perf_counter()
        learner.fit(train)
        fitted = time.perf_counter() - start
        start = time.perf_counter()
        frame = learner.predict(12)
        predicted = time.perf_counter() - start
        score = evaluate(actual, frame, frame["series_id"].to_numpy(), train.frame,
                         ds.target_column, ds.season_length)["mase"]
        results[device] = (learner, frame)
        print(f"{device:>4}: fit {fitted:6.1f}s  predict {predicted:5.2f}s  MASE {score:.4f}")
    cpu, gpu = results["cpu"][1], results["cuda"][1]
    diff = np.abs(cpu["forecast"].to_numpy() - gpu["forecast"].to_numpy())
    print(f"largest |cpu - cuda| forecast difference: {diff.max():.4f} "
          f"(relative {np.max(diff / np.abs(cpu['forecast'].to_numpy()).clip(1e-9)):.4%})")
    buffer = io.BytesIO()
    pickle.dump(results["cuda"][0], buffer)
    loaded = pickle.loads(buffer.getvalue())
    loaded.params["device"] = "cpu"
    again = loaded.predict(12)
    gap = np.abs(again["forecast"].to_numpy() - gpu["forecast"].to_numpy()).max()
    print(f"cuda-trained learner unpickled and forecast on the cpu: largest difference {gap:.2e}")


if __name__ == "__main__":
    main()
