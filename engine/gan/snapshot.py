"""What the GAN page draws: a trainer's snapshot, and observe(), which computes its pictures from a GAN."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from engine.gan.digit_score import CLASSIFIER_PATH, classifier_score
from engine.gan.model import GAN
from engine.gan.nets import g_loss
from engine.gan.toy2d import mode_metrics

HIST_EDGES = np.linspace(0, 1, 21)  # bins of hist_real / hist_fake
MANIFOLD_LINES, MANIFOLD_RANGE = 15, 2.5  # G over a 15×15 grid of z in [−2.5, 2.5]²
FIELD_SIDE = 64  # points per side of the discriminator field


@dataclasses.dataclass
class GANSnapshot:
    """What the page draws; a deep copy, safe to keep.

    History lists hold one entry per iteration (block-averaged down to engine.gan.history.MAX_HISTORY entries;
    history_x holds the last iteration of each block). An iteration is k_d D steps then m_g G steps, or one
    single "d"/"g" step. d_real / d_fake are mean σ(l) — for lsgan, wgan-gp and hinge l is a score, not a logit,
    and σ(l) only a squashed view of it. hist_real / hist_fake count σ(l) of the fixed real sample and the fixed
    fake batch in the bins HIST_EDGES.
    """

    state: str = "paused"  # "paused", "queued" (for a training slot), "running", "diverged", "done"
    message: str = ""  # why it is not running, for the user
    queue: tuple[int, int] | None = None  # while queued: (position k, 1-based; n waiting)
    step: int = 0  # parameter updates so far (D steps + G steps)
    iterations: int = 0
    loss_d: list[float] = dataclasses.field(default_factory=list)
    loss_g: list[float] = dataclasses.field(default_factory=list)
    d_real: list[float] = dataclasses.field(default_factory=list)
    d_fake: list[float] = dataclasses.field(default_factory=list)
    history_x: list[int] = dataclasses.field(default_factory=list)
    hist_real: np.ndarray | None = None
    hist_fake: np.ndarray | None = None
    samples: np.ndarray | None = None  # 2-D: G(fixed z), 512×2; images: 64×C×H×W in [0, 1]
    real: np.ndarray | None = None  # a fixed sample of the data, same layout as samples
    grad: np.ndarray | None = None  # 2-D: −∂L_G/∂G(z) at each sample (L_G summed, not averaged)
    manifold: np.ndarray | None = None  # 2-D: G over a 15×15 grid of (z₁, z₂), other z 0; rows and columns are lines
    field: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # 2-D: GAN.field() at the default extent
    steps_per_second: float = 0.0  # iterations per second while running
    seconds: float = 0.0  # time spent running
    metric: dict = dataclasses.field(default_factory=dict)  # ring8, grid25: mode_metrics of the samples;
    #                                                          mnist: classifier_score of 500 fixed-noise samples


def observe(gan: GAN, metric: bool = True) -> dict:
    """The snapshot's pictures (samples, real, histograms; 2-D also grad, manifold, field) and metric, from the
    GAN's fixed noise and fixed real sample. metric=False leaves out the image metric (it costs more than the
    rest)."""
    cfg = gan.config
    fake = gan.eval_g(gan.z_fixed)
    with torch.no_grad():
        p_real = torch.sigmoid(gan.D(gan.real_fixed)).flatten().cpu().numpy()
    view = {"samples": gan.from_model(fake), "real": gan.from_model(gan.real_fixed),
            "hist_real": np.histogram(p_real, HIST_EDGES)[0]}
    if cfg.is_2d:
        x = fake.clone().requires_grad_(True)
        logits = gan.D(x)
        with torch.no_grad():
            view["hist_fake"] = np.histogram(torch.sigmoid(logits).flatten().cpu().numpy(), HIST_EDGES)[0]
        grad, = torch.autograd.grad(g_loss(cfg.loss, logits) * len(x), x)
        view["grad"] = (-grad / gan.scale).cpu().numpy().astype(np.float32)  # in data units: x_model = (x − shift) / scale
        if cfg.noise_dim >= 2:
            u = torch.linspace(-MANIFOLD_RANGE, MANIFOLD_RANGE, MANIFOLD_LINES)
            z = torch.zeros(MANIFOLD_LINES ** 2, cfg.noise_dim)
            z[:, 0], z[:, 1] = u.repeat(MANIFOLD_LINES), u.repeat_interleave(MANIFOLD_LINES)
            view["manifold"] = gan.from_model(gan.eval_g(z.to(gan.device))).reshape(MANIFOLD_LINES, MANIFOLD_LINES, 2)
        view["field"] = gan.field(FIELD_SIDE)
        view["metric"] = mode_metrics(view["samples"], cfg.data)
    else:
        with torch.no_grad():
            view["hist_fake"] = np.histogram(torch.sigmoid(gan.D(fake)).flatten().cpu().numpy(), HIST_EDGES)[0]
        if metric and _classifiable(cfg.data, gan.data):
            view["metric"] = classifier_score(gan.from_model(gan.eval_g(gan.z_metric)))
    return view


def _classifiable(data: str, images: np.ndarray) -> bool:
    return data == "mnist" and images.shape[1:] == (1, 28, 28) and CLASSIFIER_PATH.exists()
