"""The TCN network (torch).  Imported only when a TCN is trained or used."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TemporalBlock(nn.Module):
    """Two dilated causal convolutions with a residual connection (Bai, Kolter & Koltun, 2018)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, dilation=dilation)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Left padding only: the output at t sees inputs up to t, never after.
        out = self.dropout(F.relu(self.conv1(F.pad(x, (self.pad, 0)))))
        out = self.dropout(F.relu(self.conv2(F.pad(out, (self.pad, 0)))))
        return F.relu(out + self.skip(x))


class TCNQuantileNet(nn.Module):
    """A TCN encodes the context window; a small MLP shared by the horizon steps (as in MQ-CNN)
    reads the encoding, the step's one-hot position and its known-future features, and emits
    every quantile of that step at once."""

    def __init__(self, past_channels: int, future_channels: int, horizon: int, n_quantiles: int,
                 channels: int, num_layers: int, kernel_size: int, dropout: float):
        super().__init__()
        blocks = [TemporalBlock(past_channels if i == 0 else channels, channels, kernel_size,
                                2 ** i, dropout) for i in range(num_layers)]
        self.encoder = nn.Sequential(*blocks)
        self.horizon = horizon
        self.decoder = nn.Sequential(
            nn.Linear(channels + future_channels + horizon + 1, channels), nn.ReLU(),
            nn.Linear(channels, n_quantiles))
        # How much of the seasonal-naive baseline passes straight through; learnt, from 1.
        self.skip = nn.Parameter(torch.ones(1))

    def forward(self, past: torch.Tensor, future: torch.Tensor,
                baseline: torch.Tensor) -> torch.Tensor:
        """past (batch, past_channels, lookback), future (batch, horizon, future_channels),
        baseline (batch, horizon) -> (batch, horizon, n_quantiles).  The output starts as the
        baseline (the seasonal-naive forecast) plus a learnt correction, so that a young or
        data-starved network starts from a sound forecast rather than from the window mean; the
        decoder also reads the baseline, and the skip's weight is learnt, so that data where
        seasonal naive is no guide can switch it off."""
        code = self.encoder(past)[:, :, -1]
        batch = code.shape[0]
        steps = torch.eye(self.horizon, device=past.device, dtype=past.dtype)
        z = torch.cat([code[:, None, :].expand(batch, self.horizon, code.shape[1]), future,
                       steps.expand(batch, -1, -1), baseline[..., None]], dim=-1)
        return self.skip * baseline[..., None] + self.decoder(z)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of (batch, horizon, Q) predictions against (batch, horizon) targets."""
    diff = target[..., None] - pred
    return torch.maximum(quantiles * diff, (quantiles - 1) * diff).mean()
