"""A GAN's training curves: one row per iteration, block-averaged for drawing when they get long."""
from __future__ import annotations

import math

import numpy as np

MAX_HISTORY = 5000  # curves() averages blocks of iterations down to this many points
CURVES = ("history_x", "loss_d", "loss_g", "d_real", "d_fake")  # the columns, named as in GANSnapshot


class History:
    """Rows (iteration, L_D, L_G, mean σ(D(x)), mean σ(D(G(z)))) in an array that doubles when full.

    Not thread-safe: its owner locks around append() and rows().
    """

    def __init__(self):
        self._rows, self._n = np.zeros((1024, len(CURVES))), 0

    def __len__(self) -> int:
        return self._n

    def append(self, iteration: int, loss_d: float, loss_g: float, d_real: float, d_fake: float) -> None:
        if self._n == len(self._rows):
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
        self._rows[self._n] = (iteration, loss_d, loss_g, d_real, d_fake)
        self._n += 1

    def rows(self) -> np.ndarray:
        """A copy of the rows so far, n × 5."""
        return self._rows[: self._n].copy()


def curves(rows: np.ndarray, max_points: int = MAX_HISTORY) -> dict[str, list]:
    """The columns of History.rows() as lists named by CURVES; beyond max_points rows, the means of consecutive
    blocks of ⌈n / max_points⌉ rows, each block's history_x being its last iteration."""
    if len(rows) > max_points:
        starts = np.arange(0, len(rows), math.ceil(len(rows) / max_points))
        ends = np.append(starts[1:], len(rows))
        means = np.add.reduceat(rows, starts) / (ends - starts)[:, None]
        means[:, 0] = rows[ends - 1, 0]
        rows = means
    columns = {name: rows[:, i].tolist() for i, name in enumerate(CURVES[1:], 1)}
    return {"history_x": rows[:, 0].astype(int).tolist(), **columns}
