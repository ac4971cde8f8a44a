"""No call home: nothing the app runs writes an identifier for a third party or reaches off the machine."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STYLIZE = """
import numpy as np
from engine.style.fast import FastConfig, stylize_builtin
stylize_builtin(np.full((64, 64, 3), 0.5, np.float32), 3, FastConfig())
"""


def test_fast_style_transfer_leaves_no_onnxruntime_device_id(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    subprocess.run([sys.executable, "-c", STYLIZE], cwd=ROOT, env={**env, "HOME": str(tmp_path)}, check=True,
                   timeout=300)
    written = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in written if "onnxruntime" in p or "Microsoft" in p], written
