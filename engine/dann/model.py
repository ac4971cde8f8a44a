"""The gradient reversal layer and the paper's MNIST network: features h, a label classifier and a domain classifier.

Ganin & Lempitsky (2015), MNIST experiments: h = conv 32@5×5 → ReLU → max-pool 2 → conv 48@5×5 → ReLU → max-pool 2
(768 features of a 3×28×28 image); label classifier 100 → 100 → 10. The domain classifier behind the reversal is
the paper's larger one (500 → 500 → 1, as for its other digit experiments) rather than its MNIST one (100 → 1): the
features must fool a stronger critic, and on MNIST → MNIST-M-like they aligned better (bench/README.md).
"""
from __future__ import annotations

import torch
from torch import nn

FEATURES = 48 * 4 * 4


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by −λ (λ a float, given to forward)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.lam * grad, None


def reverse_gradient(x: torch.Tensor, lam: float) -> torch.Tensor:
    return GradientReversal.apply(x, float(lam))


class DANN(nn.Module):
    """features(x) = h(x); labels(h) = class logits; domain(h, λ) = the domain logit (target = 1) through the GRL.

    The three parts are built in this order from the caller's random state, so a seed gives the same h and label
    classifier whether or not the domain classifier is ever used."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 48, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.labels = nn.Sequential(nn.Linear(FEATURES, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                                    nn.Linear(100, 10))
        self.domain = nn.Sequential(nn.Linear(FEATURES, 500), nn.ReLU(), nn.Linear(500, 500), nn.ReLU(),
                                    nn.Linear(500, 1))
        for layer in self.modules():  # He initialisation: with PyTorch's default, 200 source-only steps reached 50 %
            if isinstance(layer, (nn.Conv2d, nn.Linear)):  # source accuracy here, with this 94 %
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of images x (N×3×28×28, each channel standardised: engine.dann.train.standardised)."""
        return self.labels(self.features(x))

    def domain_logit(self, h: torch.Tensor, lam: float) -> torch.Tensor:
        """The domain classifier's logit (N,) on features h, with their gradient reversed and scaled by λ."""
        return self.domain(reverse_gradient(h, lam)).squeeze(1)
