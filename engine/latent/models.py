"""Autoencoders with one small API: fit, encode, decode, reconstruct.

Lecture: Decoder(Encoder(x)) ≈ x, trained on L = ‖x − Dec(Enc(x))‖², with the regularisers that stop
an autoencoder from learning the identity: L1 on the code (sparse), noise on the input (denoising),
dropout on input or code (redundant code), and the VAE's KL term.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MODEL_KINDS = {
    "linear": "Linear AE (learns the PCA subspace)",
    "dense": "Deep dense AE",
    "shallow": "One-layer AE: ReLU code, linear decoder",
    "conv": "Convolutional AE",
    "vae": "Variational AE (convolutional)",
}


@dataclass
class AEConfig:
    """Architecture and regularisers of one autoencoder."""

    kind: str = "conv"
    input_shape: tuple[int, int, int] = (1, 28, 28)
    code_size: int = 16
    hidden: int = 256  # width of the dense layers
    channels: int = 16  # channels of the first conv layer (doubles per layer)
    sparse_l1: float = 0.0  # λ in  L = ‖x − x̂‖² + λ·Σ|Enc_i(x)|
    noise_sigma: float = 0.0  # denoising:  L = ‖x − Dec(Enc(x + σ·ε))‖²
    input_dropout: float = 0.0
    code_dropout: float = 0.0
    kl_weight: float = 1.0  # β of the VAE's KL term
    allow_identity: bool = False  # an unregularised code ≥ the input, on purpose (the autoencoder lab shows why not)

    def __post_init__(self):
        self.input_shape = tuple(int(s) for s in self.input_shape)

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    @property
    def regularised(self) -> bool:
        return self.sparse_l1 > 0 or self.noise_sigma > 0 or self.input_dropout > 0 or self.code_dropout > 0

    def validate(self) -> None:
        """Raise ValueError with a user-facing message for settings that cannot work."""
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"Unknown model kind {self.kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
        if not 1 <= self.code_size <= 4096:
            raise ValueError(f"Code size must be between 1 and 4096, got {self.code_size}.")
        if self.kind == "linear" and self.code_size > self.input_size:
            raise ValueError(
                f"A linear AE cannot have a code ({self.code_size}) larger than its input "
                f"({self.input_size} values): like PCA it has at most {self.input_size} directions."
            )
        if self.code_size >= self.input_size and not (self.regularised or self.allow_identity or self.kind == "vae"):
            raise ValueError(
                f"Code size {self.code_size} ≥ input size {self.input_size}: an unregularised AE would just "
                "learn the identity. Shrink the code or add sparsity, noise or dropout."
            )
        for name in ("input_dropout", "code_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be in [0, 1).")
        if self.sparse_l1 < 0 or self.noise_sigma < 0 or self.kl_weight < 0:
            raise ValueError("Regulariser weights must be ≥ 0.")

    def to_dict(self) -> dict:
        return asdict(self)


class _ConvEncoder(nn.Module):
    """Stride-2 convolutions, then a linear layer to the code."""

    def __init__(self, cfg: AEConfig, out_features: int):
        super().__init__()
        c, h, w = cfg.input_shape
        layers, ch = [], c
        for i in range(_n_downsamples(h, w)):
            layers += [nn.Conv2d(ch, cfg.channels * 2**i, 3, stride=2, padding=1), nn.ReLU()]
            ch = cfg.channels * 2**i
            h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1  # a 3×3 stride-2 convolution with padding 1
        self.features = nn.Sequential(*layers)
        # Worked out, not measured by a forward pass: on the "meta" device (checkpoints.check_shapes) a forward
        # pass would import torch._dynamo, 3–8 s of a page's first open.
        self.feature_shape = (ch, h, w)
        self.fc = nn.Linear(math.prod(self.feature_shape), out_features)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class _ConvDecoder(nn.Module):
    """Mirror of the encoder with transposed convolutions, cropped to the input size."""

    def __init__(self, cfg: AEConfig, feature_shape: tuple[int, int, int]):
        super().__init__()
        c, self.h, self.w = cfg.input_shape
        self.feature_shape = feature_shape
        self.fc = nn.Linear(cfg.code_size, math.prod(feature_shape))
        n = _n_downsamples(self.h, self.w)
        layers, ch = [], feature_shape[0]
        for i in reversed(range(n)):
            out = c if i == 0 else cfg.channels * 2 ** (i - 1)
            layers += [nn.ConvTranspose2d(ch, out, 4, stride=2, padding=1)]
            if i:
                layers += [nn.ReLU()]
            ch = out
        self.deconv = nn.Sequential(*layers)

    def forward(self, z):
        x = F.leaky_relu(self.fc(z), 0.1).view(-1, *self.feature_shape)
        return self.deconv(x)[:, :, : self.h, : self.w]


def _n_downsamples(h: int, w: int) -> int:
    return 2 if max(h, w) <= 32 else 3


def _dense(sizes: list[int]) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """x → code → x̂. `encode`/`decode`/`reconstruct` take and return numpy arrays (N×C×H×W in [0, 1])."""

    def __init__(self, config: AEConfig):
        super().__init__()
        config.validate()
        self.config = config
        d, k = config.input_size, config.code_size
        if config.kind == "linear":
            self.encoder, self.decoder = nn.Linear(d, k), nn.Linear(k, d)
        elif config.kind == "dense":
            h = config.hidden
            self.encoder, self.decoder = _dense([d, h, h // 2, k]), _dense([k, h // 2, h, d])
        elif config.kind == "shallow":
            self.encoder, self.decoder = nn.Sequential(nn.Linear(d, k), nn.ReLU()), nn.Linear(k, d)
        else:
            out = 2 * k if config.kind == "vae" else k
            self.encoder = _ConvEncoder(config, out)
            self.decoder = _ConvDecoder(config, self.encoder.feature_shape)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- tensor level -------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) of q(z|x) for the VAE; (code, None) for the others."""
        if self.config.kind in ("linear", "dense", "shallow"):
            x = x.flatten(1)
        out = self.encoder(x)
        if self.config.kind == "vae":
            mu, logvar = out.chunk(2, dim=1)
            return mu, logvar.clamp(-10, 10)
        return out, None

    def decode_tensor(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output before the final squashing (logits for sigmoid models)."""
        out = self.decoder(z)
        return out.view(-1, *self.config.input_shape)

    def to_image(self, raw: torch.Tensor) -> torch.Tensor:
        return raw if self.config.kind in ("linear", "shallow") else torch.sigmoid(raw)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Training objective with the configured regularisers; also returns its parts for charts."""
        cfg, x_in = self.config, x
        if cfg.noise_sigma > 0:
            x_in = x_in + cfg.noise_sigma * torch.randn_like(x_in)
        if cfg.input_dropout > 0:
            x_in = F.dropout(x_in, cfg.input_dropout, self.training)
        mu, logvar = self.posterior(x_in)
        code = mu
        if logvar is not None and self.training:
            code = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation trick
        if cfg.code_dropout > 0:
            code = F.dropout(code, cfg.code_dropout, self.training)
        raw = self.decode_tensor(code)
        mse = F.mse_loss(self.to_image(raw), x)
        parts = {"mse": mse.item()}
        if cfg.kind == "vae":
            # ELBO: Bernoulli likelihood per image + β·KL(q(z|x) ‖ N(0, I))
            rec = F.binary_cross_entropy_with_logits(raw, x, reduction="sum") / len(x)
            kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu**2 - logvar.exp(), 1))
            total = rec + cfg.kl_weight * kl
            parts.update(reconstruction=rec.item(), kl=kl.item())
        else:
            total = mse
        if cfg.sparse_l1 > 0:
            l1 = code.abs().sum(1).mean()
            total = total + cfg.sparse_l1 * l1
            parts["l1"] = l1.item()
        parts["loss"] = total.item()
        return total, parts

    # --- numpy level (the public API) ---------------------------------------------------------
    @torch.no_grad()
    def encode(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Codes (N×code_size float32); the VAE gives the posterior mean."""
        self.eval()
        out = [self.posterior(self._tensor(images[i : i + batch_size]))[0].cpu() for i in range(0, len(images), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.config.code_size), np.float32)

    @torch.no_grad()
    def decode(self, codes: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Images (N×C×H×W in [0, 1]) for codes."""
        self.eval()
        codes = np.asarray(codes, np.float32).reshape(-1, self.config.code_size)
        out = [
            self.to_image(self.decode_tensor(self._tensor(codes[i : i + batch_size]))).clamp(0, 1).cpu()
            for i in range(0, len(codes), batch_size)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, *self.config.input_shape), np.float32)

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """Dec(Enc(x))."""
        return self.decode(self.encode(images))

    def fit(self, images: np.ndarray, config=None, on_progress=None, should_stop=None):
        """Train on images with engine.latent.train.train; returns its TrainResult."""
        from engine.latent.train import TrainConfig, train

        return train(self, images, config or TrainConfig(), on_progress=on_progress, should_stop=should_stop)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, np.float32), device=self.device)


def reconstruction_mse(model: Autoencoder, images: np.ndarray) -> float:
    """Mean squared error per pixel of Dec(Enc(x)) against x, in the [0, 1] pixel scale."""
    return float(np.mean((model.reconstruct(images) - images) ** 2))
