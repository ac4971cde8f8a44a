"""Attribute vectors (lecture: "a common direction for 'add mustache' or 'add age'", the smile vector):

    v = mean{Enc(x) : x has the attribute} − mean{Enc(x) : x lacks it},    edit(x) = Dec(Enc(x) + s·v).

Attributes that go together in the data (beards and mustaches) leak into each other's vectors; projecting
the other direction u out, v ← v − (v·u / ‖u‖²)·u, keeps only the part of v orthogonal to it.

A small multi-label CNN, trained once on the procedural faces' labels and shipped, scores the edits:
did the attribute appear, and did the others stay as they were?
Run `python -m engine attribute-classifier --out checkpoints/procfaces-attributes` to rebuild it.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine import classifier
from engine.checkpoints import CHECKPOINT_DIR
from engine.latent.models import Autoencoder
from engine.faces.morph import check_images
from engine.data.procfaces import BINARY

CLASSIFIER_PATH = CHECKPOINT_DIR / "procfaces-attributes.safetensors"
DEFAULT_STRENGTH = 1.0
STRENGTH_LIMIT = 100.0  # the page's slider range; edits stay finite and in [0, 1] far beyond it


# ---------------------------------------------------------------- vectors


def attribute_vector(codes: np.ndarray, has: np.ndarray, name: str = "the attribute") -> np.ndarray:
    """mean code of rows with the attribute − mean code of rows without (has: N booleans or 0/1)."""
    codes, has = np.asarray(codes, np.float32), np.asarray(has).astype(bool).ravel()
    if len(has) != len(codes):
        raise ValueError(f"{len(codes)} codes but {len(has)} labels.")
    return difference_of_means(codes[has], codes[~has], name)


def difference_of_means(with_codes: np.ndarray, without_codes: np.ndarray, name: str = "the attribute") -> np.ndarray:
    """The vector from examples picked by hand: mean(with) − mean(without); each side needs one example."""
    for side, rows in (("with", with_codes), ("without", without_codes)):
        if len(rows) == 0:
            raise ValueError(f"No examples {side} {name}: an attribute vector needs at least one face on each side.")
    return (np.mean(with_codes, 0) - np.mean(without_codes, 0)).astype(np.float32)


def remove_direction(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """v − (v·u / ‖u‖²)·u: v without its component along u (u = 0 leaves v as it is)."""
    v, u = np.asarray(v, np.float32), np.asarray(u, np.float32)
    uu = float(u @ u)
    return v if uu == 0 else (v - (v @ u / uu) * u).astype(np.float32)


def edit_codes(codes: np.ndarray, vector: np.ndarray, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """codes + strength·v (codes N×k or k)."""
    codes, vector = np.asarray(codes, np.float32), np.asarray(vector, np.float32)
    if vector.shape[-1] != codes.shape[-1]:
        raise ValueError(f"The vector has {vector.shape[-1]} values but the codes have {codes.shape[-1]}: "
                         "it was made with another model.")
    return codes + np.float32(strength) * vector


def apply(model: Autoencoder, images: np.ndarray, vector: np.ndarray,
          strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """Dec(Enc(x) + s·v) for images of the model's shape, finite and clipped to [0, 1] at any strength."""
    codes = model.encode(check_images(model, images))
    return np.clip(np.nan_to_num(model.decode(edit_codes(codes, vector, strength))), 0, 1)


# ---------------------------------------------------------------- the attribute classifier


def classifier_net(n_attributes: int = len(BINARY)) -> nn.Sequential:
    """3×64×64 face → three stride-2 convolutions (16, 32, 64) → global average → one logit per attribute."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, n_attributes))


CLASSIFIER_FILE = classifier.ClassifierFile(key="latentlab_attribute_classifier_card",
                                            format="latentlab-attribute-classifier-1", what="attribute classifier",
                                            net=lambda card: classifier_net(len(card["attributes"])))


def _blur_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random share of a 3×3 box blur per image: x + w·(blur(x) − x), w ~ U(0, 1), so the classifier also
    reads the softer faces an autoencoder decodes."""
    w = torch.rand(len(x), 1, 1, 1, generator=gen)
    return x + w * (F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) - x)


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 4, seed: int = 0,
                     test_fraction: float = 0.1, batch_size: int = 64, lr: float = 2e-3,
                     views: dict[str, np.ndarray] | None = None) -> tuple[nn.Sequential, dict]:
    """Adam on the mean binary cross-entropy of every attribute (labels N×A of 0/1), with blur augmentation.

    views: other renderings of the same N faces, row-aligned with images (e.g. {"procfaces-conv-32": Dec(Enc(x))}),
    all carrying the drawn faces' labels. Each epoch shows every training face once, in a view drawn at random
    (the drawing or one of the views), so the classifier reads an autoencoder's soft reconstructions as well as
    the sharp drawings; the split is by face, so no held-out face is seen in any view.
    metrics: held-out accuracy per attribute on the drawn faces (test_accuracy) and on each view
    (test_accuracy_views)."""
    from engine.data import split_indices

    start = time.perf_counter()
    views = dict(views or {})
    for view, rows in views.items():
        if np.shape(rows) != np.shape(images):
            raise ValueError(f"View {view!r} has shape {np.shape(rows)}, the drawn faces {np.shape(images)}.")
    train_idx, test_idx = split_indices(len(images), test_fraction, seed)
    stack = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in (images, *views.values())])  # V×N×3×64×64
    y = torch.as_tensor(labels, dtype=torch.float32)
    net = classifier.seeded(lambda: classifier_net(labels.shape[1]), seed)

    def in_views(order: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Each face of the epoch paired with the view it is shown in: rows (face, view)."""
        return torch.stack([order, torch.randint(len(stack), (len(order),), generator=gen)], 1)

    def loss(rows: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        idx, view = rows[:, 0], rows[:, 1]
        return F.binary_cross_entropy_with_logits(net(_blur_augment(stack[view, idx], gen)), y[idx])

    classifier.fit(net, loss, train_idx, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr, epoch_rows=in_views)

    def accuracy(rows: np.ndarray) -> dict[str, float]:
        hit = (predict(rows[test_idx], net) == labels[test_idx].astype(bool)).mean(0)
        return {name: round(float(a), 4) for name, a in zip(BINARY, hit)}

    metrics = {"test_accuracy": accuracy(images), "test_accuracy_views": {k: accuracy(v) for k, v in views.items()},
               "train_images": len(train_idx), "test_images": len(test_idx), "epochs": epochs,
               "seconds": round(time.perf_counter() - start, 1)}
    return net, metrics


def probabilities(images: np.ndarray, net: nn.Module | None = None) -> np.ndarray:
    """N×A probability that each face has each attribute (columns in procfaces.BINARY order)."""
    net = net if net is not None else load_classifier()[0]
    if np.ndim(images) != 4 or tuple(np.shape(images)[1:]) != (3, 64, 64):
        raise ValueError(f"The attribute classifier reads 3×64×64 procedural faces, not {tuple(np.shape(images)[1:])}.")
    return classifier.probabilities(net, images, torch.sigmoid, batch=500)


def predict(images: np.ndarray, net: nn.Module | None = None) -> np.ndarray:
    """N×A booleans: probability above ½."""
    return probabilities(images, net) > 0.5


def save_classifier(net: nn.Module, path: str | Path, card: dict) -> Path:
    """<stem>.safetensors (weights, card in the metadata) and <stem>.json."""
    return classifier.save(CLASSIFIER_FILE, net, path, {**card, "attributes": list(BINARY)})


@functools.lru_cache(maxsize=2)
def load_classifier(path: str | Path = CLASSIFIER_PATH) -> tuple[nn.Sequential, dict]:
    """The shipped attribute classifier and its card; safetensors weights only, never a pickle."""
    return classifier.load(CLASSIFIER_FILE, path)


# ---------------------------------------------------------------- scoring an edit


def edit_success(model: Autoencoder, images: np.ndarray, labels: np.ndarray, name: str, vector: np.ndarray,
                 strength: float = DEFAULT_STRENGTH, net: nn.Module | None = None) -> dict:
    """Add `name` to the faces that lack it (labels: N×A 0/1 in BINARY order) and ask the classifier.

    added: share of those faces now classified as having it.
    unchanged: share whose four other attributes are classified on the edited face Dec(Enc(x) + s·v) exactly as on
      the plain reconstruction Dec(Enc(x)) — the edit is judged against what the autoencoder gives without it,
      so its own blur (a smile it loses, age lines it never draws) is not counted against the vector.
    unchanged_each: the same per other attribute.
    unchanged_vs_labels: for reference, the share whose other attributes on the edited face match the drawn
      faces' true labels (this mixes the autoencoder's reconstruction errors into the score)."""
    column = BINARY.index(name)
    has = np.asarray(labels)[:, column].astype(bool)
    lacking = images[~has]
    if len(lacking) == 0:
        raise ValueError(f"Every face already has {name}.")
    before = predict(model.reconstruct(lacking), net)
    after = predict(apply(model, lacking, vector, strength), net)
    others = [i for i in range(len(BINARY)) if i != column]
    same = after[:, others] == before[:, others]
    true = after[:, others] == np.asarray(labels)[~has][:, others].astype(bool)
    return {"faces": len(lacking), "added": float(after[:, column].mean()), "unchanged": float(same.all(1).mean()),
            "unchanged_each": {BINARY[i]: float(same[:, j].mean()) for j, i in enumerate(others)},
            "unchanged_vs_labels": float(true.all(1).mean())}
