"""ForecastTCN: one global temporal convolutional network for all series (torch).

Each training sample is a window of one series: ``lookback`` past steps (the target scaled by
the window's own mean and standard deviation, an observed-mask, calendar channels and the
covariates) and the next ``horizon`` steps to forecast.  Dilated causal convolutions with
residual blocks encode the window; a small MLP shared by the horizon steps reads the encoding,
each step's position and its known-future values (calendar, known covariates) and emits every
quantile of that step at once (a direct multi-horizon quantile forecaster, as MQ-CNN), as a
correction of the seasonal-naive forecast, which passes through with a learnt weight: on the
benchmark's retail sample this took the TCN's MASE from 1.31 (worse than seasonal naive) to
0.69.  The
loss is the pinball loss averaged over the requested quantiles plus the median, which is the
point forecast.  Early stopping watches the last ``horizon`` of each series that is long
enough to spare it; the best epoch's weights are kept.

Calendar channels are sin/cos of the position in each seasonal period of the frequency
(monthly: the month of year; daily: day of week and of year; hourly: hour of day and of week),
computed from the time grid, so the family needs nothing from ``tsauto.features``.

Forecasts longer than the trained ``horizon`` roll forward in blocks, the median fed back as if
observed (quantiles beyond the trained horizon are then too narrow: train with the horizon you
need).  Series shorter than ``horizon`` + 2 points give no training window; they are still
forecast from their left-padded history and listed in ``short_series_``.

Training is deterministic on CPU for a given ``seed`` and thread count: the seed drives window
sampling (numpy) and weights and dropout (torch, in a forked RNG so the global one is left
alone), with torch's deterministic algorithms on during training.  The fitted learner holds
numpy arrays only (weights included): it pickles without torch and rebuilds the network on
first use after loading.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager

import numpy as np
import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.data.grouped import offsets, position_in_series, series_codes
from tsauto.errors import SettingsError, ShortSeriesError, check_int
from tsauto.learners._stat_common import (
    covariate_matrix,
    seasonal_periods,
    target_arrays,
)
from tsauto.learners.base import Capabilities, Forecaster
from tsauto.learners.registry import register
from tsauto.learners.space import Choice, FloatRange, IntRange

_MIN_CONTEXT = 2          # observed points a training window's context needs at least
_MAX_VAL_WINDOWS = 4096   # validation windows evaluated per epoch, at most


def _calendar(index: np.ndarray, periods: list[float]) -> np.ndarray:
    """sin/cos of the position in each seasonal period; ``index`` are grid period numbers."""
    if not periods:
        return np.zeros((len(index), 0))
    cols = []
    for p in periods:
        angle = 2 * np.pi * np.mod(index, p) / p
        cols += [np.sin(angle), np.cos(angle)]
    return np.stack(cols, axis=1)


def _scale(y: np.ndarray, mask: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each row's observed values; the deviation is floored per
    series so that a flat context does not blow up the next values."""
    count = np.maximum(mask.sum(axis=1), 1)
    filled = np.where(mask, y, 0.0)
    loc = filled.sum(axis=1) / count
    var = (np.where(mask, y - loc[:, None], 0.0) ** 2).sum(axis=1) / count
    return loc, np.maximum(np.sqrt(var), floor)


def _floor(y: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """A flat context is scaled by a tenth of its series' spread (or 1% of its level)."""
    lengths = np.diff(indptr)
    means = np.add.reduceat(y, indptr[:-1]) / lengths
    sq = np.add.reduceat((y - np.repeat(means, lengths)) ** 2, indptr[:-1])
    floor = np.maximum(0.1 * np.sqrt(sq / lengths), 0.01 * np.abs(means))
    return np.where(floor > 0, floor, 1.0)


@contextmanager
def _torch_settings(seed: int, threads: int, device):
    """Seeded, deterministic torch for the duration; every global setting is put back.

    The kernels this network runs on CPU (convolution, linear, Adam) are deterministic for a
    fixed thread count, so ``use_deterministic_algorithms`` is only switched on for CUDA: on
    CPU it would cost 3-5 s of importing torch's compiler stack and change nothing."""
    import torch

    cuda = device.type == "cuda"
    saved = (torch.get_num_threads(), torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark)
    if cuda:
        saved_algorithms = (torch.are_deterministic_algorithms_enabled(),
                            torch.is_deterministic_algorithms_warn_only_enabled())
        torch.use_deterministic_algorithms(True, warn_only=True)
    with torch.random.fork_rng(devices=[device.index or 0] if cuda else []):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        try:
            yield
        finally:
            torch.set_num_threads(saved[0])
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[1:]
            if cuda:
                torch.use_deterministic_algorithms(saved_algorithms[0],
                                                   warn_only=saved_algorithms[1])


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SettingsError(f"tcn: device={name!r} is not valid; use 'auto', 'cpu' or "
                            f"'cuda'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError("tcn: device='cuda' but torch sees no CUDA device; use 'auto' or "
                            "'cpu'.")
    return device


@register
class ForecastTCN(Forecaster):
    """Global TCN with quantile outputs; see the module docstring."""

    name = "tcn"
    capabilities = Capabilities(known_covariates=True, past_covariates=True, global_model=True,
                                min_history=1, cost="medium", onnx=True)

    context_fields = ("quantiles", "horizon", "seed")

    @classmethod
    def exports_onnx(cls, params: dict, settings=None) -> bool:
        """A TCN reading covariates does not export (tsauto.export.tcn): its network reads
        their history, which the scorer's inputs do not carry."""
        return not (getattr(settings, "known_covariates", None) or
                    getattr(settings, "past_covariates", None))

    def __init__(self, quantiles=(), horizon: int | None = None, lookback: int | None = None,
                 channels: int = 32, num_layers: int = 4, kernel_size: int = 3,
                 dropout: float = 0.1, learning_rate: float = 3e-3, batch_size: int = 64,
                 max_epochs: int = 30, batches_per_epoch: int = 32, patience: int = 5,
                 seed: int = 0, device: str = "auto", num_threads: int | None = None) -> None:
        super().__init__(quantiles, horizon=horizon, lookback=lookback, channels=channels,
                         num_layers=num_layers, kernel_size=kernel_size, dropout=dropout,
                         learning_rate=learning_rate, batch_size=batch_size,
                         max_epochs=max_epochs, batches_per_epoch=batches_per_epoch,
                         patience=patience, seed=seed, device=device, num_threads=num_threads)

    @classmethod
    def search_space(cls):
        return {"channels": Choice((16, 32, 64)), "num_layers": IntRange(2, 6),
                "kernel_size": Choice((2, 3, 5)), "dropout": FloatRange(0.0, 0.3),
                "learning_rate": FloatRange(1e-4, 1e-2, log=True),
                "max_epochs": IntRange(10, 80)}

    def _check_params(self) -> None:
        p = self.params
        ints = {"channels": 1, "num_layers": 1, "kernel_size": 2, "batch_size": 1,
                "max_epochs": 1, "batches_per_epoch": 1, "patience": 1, "seed": 0}
        optional = {"horizon": 1, "lookback": 2, "num_threads": 1}
        for name, low in [*ints.items(), *optional.items()]:
            check_int(p[name], f"tcn: {name}", low, or_none=name in optional)
        if not 0.0 <= float(p["dropout"]) < 1.0:
            raise SettingsError(f"tcn: dropout must be in [0, 1), got {p['dropout']!r}.")
        if not float(p["learning_rate"]) > 0:
            raise SettingsError(f"tcn: learning_rate must be positive, got "
                                f"{p['learning_rate']!r}.")

    # -- features --------------------------------------------------------------------------
    def _covariates(self, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
        if not columns:
            return np.zeros((len(frame), 0))
        return covariate_matrix(frame, columns, self.name)

    def _row_features(self, index: np.ndarray, known: np.ndarray, past: np.ndarray | None):
        """Per-row channels: calendar, then known covariates, then past covariates (standardised
        with the training statistics).  The first two groups are also the future channels."""
        parts = [_calendar(index, self.periods_)]
        k = known.shape[1]
        parts.append((known - self.cov_mean_[:k]) / self.cov_std_[:k])
        if past is not None:
            parts.append((past - self.cov_mean_[k:]) / self.cov_std_[k:])
        return np.concatenate(parts, axis=1)

    # -- fit -------------------------------------------------------------------------------
    def _fit(self, train: TimeSeriesDataset) -> None:
        self._check_params()
        p = self.params
        y, indptr = target_arrays(train, self.name)
        lengths = np.diff(indptr)
        n = len(lengths)
        season = train.season_length
        H = p["horizon"] or int(min(np.clip(2 * season, 8, 64), max(1, lengths.max() // 3)))
        L = p["lookback"] or int(np.clip(max(3 * season, 2 * H), 16, 256))
        self.horizon_, self.lookback_ = H, L
        self.season_length_ = season
        self.periods_ = seasonal_periods(train.grid)
        self.quantile_levels_ = tuple(sorted({*self.quantiles_, 0.5}))

        known = self._covariates(train.frame, train.known_covariates)
        past = self._covariates(train.frame, train.past_covariates)
        covs = np.concatenate([known, past], axis=1)
        self.cov_mean_ = covs.mean(axis=0) if covs.shape[1] else np.zeros(0)
        std = covs.std(axis=0) if covs.shape[1] else np.zeros(0)
        self.cov_std_ = np.where(std > 0, std, 1.0)
        pos = position_in_series(indptr)
        # Grid period number of every row: series are contiguous on the grid up to their end.
        index = np.repeat(self.schema_.last_index - lengths + 1, lengths) + pos
        feats = self._row_features(index, known, past)
        self.n_future_ = 2 * len(self.periods_) + known.shape[1]

        self.floor_ = _floor(y, indptr)

        # Windows end their context at t (exclusive) and forecast t .. t+H-1 of their series.
        has_val = lengths - 2 * H >= _MIN_CONTEXT
        last_t = np.where(has_val, lengths - 2 * H, lengths - H)
        counts = np.maximum(last_t - _MIN_CONTEXT + 1, 0)
        if counts.sum() == 0:
            raise ShortSeriesError(
                f"tcn: no series is long enough for one training window of {_MIN_CONTEXT} context "
                f"points + horizon {H} (the longest has {int(lengths.max())} points); pass a "
                f"smaller horizon= or use a statistical learner.")
        windows = offsets(counts)
        win_series = series_codes(windows)
        win_t = position_in_series(windows) + _MIN_CONTEXT
        val_series = np.flatnonzero(has_val)
        val_t = lengths[val_series] - H
        short = np.flatnonzero(counts == 0)
        self.short_series_ = {
            str(train.series_ids[i]): f"{lengths[i]} points: no training window (needs "
            f"{_MIN_CONTEXT + H}); forecast from its padded history" for i in short}

        self._train(y, feats, indptr, win_series, win_t, val_series, val_t)
        # Keep only what forecasting needs: each series' last L rows.
        self.context_y_, self.context_mask_, self.context_feats_ = self._context(
            y, feats, indptr, np.arange(n), lengths)

    def with_history(self, history: TimeSeriesDataset) -> ForecastTCN:
        """A global network reads its inputs from any history: each series' last ``lookback``
        values and covariates (and its scale floor) come from ``history``, the weights stay.
        Series not seen at training are forecast the same way."""
        other = copy.copy(self)
        other.schema_ = history.schema()
        y, indptr = target_arrays(history, self.name)
        lengths = np.diff(indptr)
        known = self._covariates(history.frame, list(self.schema_.known_covariates))
        past = self._covariates(history.frame, list(self.schema_.past_covariates))
        index = np.repeat(other.schema_.last_index - lengths + 1, lengths) + position_in_series(indptr)
        feats = self._row_features(index, known, past)
        other.floor_ = _floor(y, indptr)
        other.context_y_, other.context_mask_, other.context_feats_ = self._context(
            y, feats, indptr, np.arange(len(lengths)), lengths)
        return other

    def _windows(self, y, feats, indptr, series, t):
        """Past inputs (B, C, L), future inputs (B, H, F), baseline and targets (B, H), scaled."""
        H = self.horizon_
        y_ctx, mask, f_ctx = self._context(y, feats, indptr, series, t)
        loc, scale = _scale(y_ctx, mask, self.floor_[series])
        past, baseline = self._past_inputs(y_ctx, mask, f_ctx, loc, scale)
        rows = indptr[series][:, None] + t[:, None] + np.arange(H)
        future = feats[rows][:, :, :self.n_future_]
        target = (y[rows] - loc[:, None]) / scale[:, None]
        return past, future, baseline, target

    def _context(self, y, feats, indptr, series, t):
        """The L rows before position t of each series: values (NaN where before the start),
        observed mask and row features (zeros there)."""
        L = self.lookback_
        start = indptr[series] + t - L
        rows = start[:, None] + np.arange(L)
        mask = rows >= indptr[series][:, None]
        rows = np.where(mask, rows, indptr[series][:, None])
        y_ctx = np.where(mask, y[rows], np.nan)
        f_ctx = np.where(mask[..., None], feats[rows], 0.0)
        return y_ctx, mask, f_ctx

    def _past_inputs(self, y_ctx, mask, f_ctx, loc, scale) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs (B, C, L) and the seasonal-naive baseline (B, H), both scaled."""
        scaled = np.where(mask, (y_ctx - loc[:, None]) / scale[:, None], 0.0)
        stacked = np.concatenate([scaled[..., None], mask[..., None].astype(float), f_ctx], axis=2)
        L, m = self.lookback_, self.season_length_
        m = m if 1 < m <= L else 1
        baseline = scaled[:, L - m + np.arange(self.horizon_) % m]
        return stacked.transpose(0, 2, 1), baseline

    def _net(self, device):
        import torch

        from tsauto.learners._tcn_net import TCNQuantileNet

        net = TCNQuantileNet(**self.net_config_)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights_.items()})
        return net.to(device).eval()

    def _train(self, y, feats, indptr, win_series, win_t, val_series, val_t):
        import torch

        from tsauto.learners._tcn_net import TCNQuantileNet, pinball_loss

        p = self.params
        device = _device(p["device"])
        # One thread by default: these small convolutions gain nothing from more, and on a busy
        # 2-core machine two threads made a batch 3x slower (0.04 s -> 0.14 s).
        threads = p["num_threads"] or 1
        rng = np.random.default_rng(p["seed"])
        self.net_config_ = {"past_channels": 2 + feats.shape[1], "future_channels": self.n_future_,
                            "horizon": self.horizon_, "n_quantiles": len(self.quantile_levels_),
                            "channels": p["channels"], "num_layers": p["num_layers"],
                            "kernel_size": p["kernel_size"], "dropout": float(p["dropout"])}

        def tensors(series, t):
            return [torch.as_tensor(a, dtype=torch.float32, device=device)
                    for a in self._windows(y, feats, indptr, series, t)]

        if len(val_series) > _MAX_VAL_WINDOWS:
            keep = np.sort(rng.choice(len(val_series), _MAX_VAL_WINDOWS, replace=False))
            val_series, val_t = val_series[keep], val_t[keep]
        val = tensors(val_series, val_t) if len(val_series) else None
        history = []
        with _torch_settings(p["seed"], threads, device):
            qs = torch.tensor(self.quantile_levels_, dtype=torch.float32, device=device)
            net = TCNQuantileNet(**self.net_config_).to(device)
            opt = torch.optim.Adam(net.parameters(), lr=float(p["learning_rate"]))
            best, best_state, stale = np.inf, None, 0
            for epoch in range(p["max_epochs"]):
                net.train()
                total = 0.0
                for _ in range(p["batches_per_epoch"]):
                    pick = rng.integers(0, len(win_series), p["batch_size"])
                    *inputs, target = tensors(win_series[pick], win_t[pick])
                    loss = pinball_loss(net(*inputs), target, qs)
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    opt.step()
                    total += loss.item()
                record = {"epoch": epoch + 1, "train_loss": total / p["batches_per_epoch"]}
                if val is not None:
                    net.eval()
                    with torch.no_grad():
                        record["val_loss"] = float(pinball_loss(net(*val[:3]), val[3], qs))
                history.append(record)
                score = record.get("val_loss", record["train_loss"])
                if score < best - 1e-6:
                    best, stale = score, 0
                    best_state = {k: v.detach().cpu().numpy().copy()
                                  for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    if val is not None and stale >= p["patience"]:
                        break
        if best_state is None:  # no epoch improved on infinity: the loss was never finite
            raise RuntimeError("tcn: training loss was not finite; check the data's scale")
        self.history_ = history
        self.best_epoch_ = int(np.argmin([h.get("val_loss", h["train_loss"]) for h in history])) + 1
        self.weights_ = best_state

    # -- predict ---------------------------------------------------------------------------
    def _predict(self, horizon: int, future: pd.DataFrame) -> pd.DataFrame:
        import torch

        H, L = self.horizon_, self.lookback_
        n = len(self.context_y_)
        blocks = -(-horizon // H)
        steps = np.arange(1, blocks * H + 1)
        index = self.schema_.last_index[:, None] + steps[None, :]
        known_cols = list(self.schema_.known_covariates)
        known = self._covariates(future, known_cols).reshape(n, horizon, len(known_cols))
        # Blocks past the asked horizon reuse its last known values (only feeds the roll-out).
        pad = np.repeat(known[:, -1:, :], blocks * H - horizon, axis=1)
        known = np.concatenate([known, pad], axis=1)
        n_past = len(self.cov_mean_) - known.shape[2]
        fut = self._row_features(index.ravel(), known.reshape(n * blocks * H, -1), None)
        fut = fut.reshape(n, blocks * H, -1)

        device = _device(self.params["device"])
        net = self._net(device)
        y_ctx, mask, f_ctx = self.context_y_, self.context_mask_, self.context_feats_
        median = self.quantile_levels_.index(0.5)
        outs = []
        with torch.no_grad():
            for b in range(blocks):
                loc, scale = _scale(y_ctx, mask, self.floor_)
                past, baseline = self._past_inputs(y_ctx, mask, f_ctx, loc, scale)
                block = fut[:, b * H:(b + 1) * H]
                pred = net(*[torch.as_tensor(a, dtype=torch.float32, device=device)
                             for a in (past, block, baseline)])
                # Sorted, so that crossing quantiles of a young network still give a point
                # forecast equal to the reported median.
                pred = np.sort(pred.cpu().numpy().astype("float64"), axis=2)
                pred = pred * scale[:, None, None] + loc[:, None, None]
                outs.append(pred)
                if b + 1 < blocks:
                    # Roll forward: the median as observed; past covariates hold their last value.
                    held = np.repeat(f_ctx[:, -1:, self.n_future_:], H, axis=1)
                    new_f = np.concatenate([block, held], axis=2) if n_past else block
                    y_ctx = np.concatenate([y_ctx, pred[:, :, median]], axis=1)[:, -L:]
                    mask = np.concatenate([mask, np.ones((n, H), bool)], axis=1)[:, -L:]
                    f_ctx = np.concatenate([f_ctx, new_f], axis=1)[:, -L:]
        pred = np.concatenate(outs, axis=1)[:, :horizon]
        future = future.copy()
        future[POINT] = pred[:, :, median].ravel()
        for q in self.quantiles_:
            future[quantile_column(q)] = pred[:, :, self.quantile_levels_.index(q)].ravel()
        return future
