"""Export codes and map coordinates for use elsewhere (spreadsheets, Embedding Projector, notebooks)."""
from __future__ import annotations

import io

import numpy as np


def codes_csv(codes: np.ndarray, coords: np.ndarray, labels: np.ndarray | None = None,
              label_names: list[str] | None = None) -> bytes:
    """CSV with one row per image: index, label, map coordinates x/y(/z), code_0 … code_{k−1}."""
    import pandas as pd

    table = pd.DataFrame({"index": np.arange(len(codes))})
    if labels is not None:
        table["label"] = [label_names[l] for l in labels] if label_names else labels
    for axis, column in zip("xyz", np.asarray(coords).T):
        table[axis] = column
    for j in range(codes.shape[1]):
        table[f"code_{j}"] = codes[:, j]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue().encode()
