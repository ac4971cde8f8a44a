"""The GAN's networks and losses: MLPs for 2-D points, a small DCGAN for images, five ways to score them.

D outputs a logit l (D(x) = σ(l)); the losses, as means over the batch:
  minimax, non-saturating (Goodfellow et al. 2014): L_D = −log D(x) − log(1 − D(G(z))),
      L_G = log(1 − D(G(z))) (minimax) or L_G = −log D(G(z)) (non-saturating);
  lsgan (Mao et al. 2017, a=0, b=c=1): L_D = ½(l(x) − 1)² + ½ l(G(z))², L_G = ½(l(G(z)) − 1)²;
  wgan-gp (Gulrajani et al. 2017): L_D = l(G(z)) − l(x) + λ(‖∇l(x̂)‖ − 1)², x̂ = εx + (1 − ε)G(z), ε ~ U(0, 1),
      L_G = −l(G(z));
  hinge (Lim & Ye 2017): L_D = max(0, 1 − l(x)) + max(0, 1 + l(G(z))), L_G = −l(G(z)).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("minimax", "nonsaturating", "lsgan", "wgan-gp", "hinge")


def _mlp(n_in: int, width: int, depth: int, n_out: int, act: type[nn.Module]) -> nn.Sequential:
    layers, size = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), act()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_out))


class _LeakyReLU(nn.LeakyReLU):
    def __init__(self):
        super().__init__(0.2)


def mlp_generator(config) -> nn.Sequential:
    """z → depth × (Linear, ReLU) → Linear → a 2-D point."""
    return _mlp(config.noise_dim, config.width, config.depth, 2, nn.ReLU)


def mlp_discriminator(config) -> nn.Sequential:
    """A 2-D point → depth × (Linear, LeakyReLU 0.2) → Linear → one logit."""
    return _mlp(2, config.width, config.depth, 1, _LeakyReLU)


def _padded(size: int) -> int:
    return 4 * math.ceil(size / 4)


class ConvGenerator(nn.Module):
    """DCGAN generator: z → Linear → 2c×⌈H/4⌉×⌈W/4⌉ → BN, ReLU, ConvT ×2 (stride 2) → tanh.

    Sizes that are not multiples of 4 (faces 25×25) are generated at the next multiple (28×28) and centre-cropped.
    """

    def __init__(self, noise_dim: int, image_shape: tuple[int, int, int], channels: int):
        super().__init__()
        c, h, w = image_shape
        self.image_shape, self.start = (c, h, w), (2 * channels, _padded(h) // 4, _padded(w) // 4)
        self.fc = nn.Linear(noise_dim, math.prod(self.start))
        self.net = nn.Sequential(
            nn.BatchNorm2d(2 * channels), nn.ReLU(),
            nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.ConvTranspose2d(channels, c, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(self.fc(z).view(-1, *self.start))
        _, h, w = self.image_shape
        top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        return x[:, :, top:top + h, left:left + w]


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator: pad with −1 (black) to a multiple of 4 → Conv (stride 2), LeakyReLU 0.2 → Conv (stride 2),
    layer norm, LeakyReLU → Linear → logit.

    Layer norm (GroupNorm with one group) instead of DCGAN's batch norm: each sample's logit depends on that
    sample only, as WGAN-GP's per-sample penalty requires, and train and eval mode agree.
    """

    def __init__(self, image_shape: tuple[int, int, int], channels: int):
        super().__init__()
        c, h, w = image_shape
        ph, pw = _padded(h) - h, _padded(w) - w
        self.pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
        self.net = nn.Sequential(
            nn.Conv2d(c, channels, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, 2, 1), nn.GroupNorm(1, 2 * channels), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * channels * _padded(h) // 4 * _padded(w) // 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(F.pad(x, self.pad, value=-1.0))


# ---------------------------------------------------------------- losses


def d_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss from its logits on real and generated samples (without WGAN-GP's penalty)."""
    if loss in ("minimax", "nonsaturating"):  # −log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l)
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if loss == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()
    if loss == "wgan-gp":
        return fake.mean() - real.mean()
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()  # hinge


def g_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss from the discriminator's logits on its samples."""
    if loss == "minimax":  # log(1 − σ(l)) = −softplus(l)
        return -F.softplus(fake).mean()
    if loss == "nonsaturating":
        return F.softplus(-fake).mean()
    if loss == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    return -fake.mean()  # wgan-gp, hinge


def gradient_penalty(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
    """(‖∇ₓ̂ D(x̂)‖ − 1)² averaged over x̂ = εx + (1 − ε)G(z) (Gulrajani et al. 2017)."""
    eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), generator=generator, device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(disc(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
