"""The shipped autoencoders the morphing page offers, and the faces each one takes.

A checkpoint's card names its dataset and options; the faces are that dataset, the procedural faces capped at
PAGE_LIMIT rows (the shipped models trained on more). One exception: with full LFW in the user's cache, "faces"
loads it at 32×32, while a model of scikit-image's 25×25 subset takes the subset: it gets the subset, and a note
saying so.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from engine.checkpoints import CHECKPOINT_DIR
from engine.data import ImageDataset, load_dataset
from engine.latent.checkpoints import list_checkpoints
from engine.latent.models import MODEL_KINDS

FACE_DATASETS = ("procfaces", "faces")  # listed first, in this order
PAGE_LIMIT = {"procfaces": 2000}  # rows loaded for the page


class DatasetMismatch(ValueError):
    """The model's dataset now gives images of another shape than the model takes; str(e) says which."""


@dataclass(frozen=True)
class FaceModel:
    """A checkpoint as its card describes it, without its weights."""

    path: str
    name: str
    dataset: str
    options: dict  # the dataset options it was trained with
    kind: str  # a MODEL_KINDS key
    code_size: int
    input_shape: tuple[int, int, int]

    @property
    def title(self) -> str:
        return f"{self.name} — {MODEL_KINDS[self.kind]}, code {self.code_size}"


def list_models(folder: str | Path = CHECKPOINT_DIR) -> list[FaceModel]:
    """Every readable checkpoint: face datasets first (FACE_DATASETS' order), then by dataset and name."""
    models = [FaceModel(str(path), card.name, card.dataset, card.dataset_options or {}, card.model["kind"],
                        card.model["code_size"], tuple(card.model["input_shape"]))
              for path, card in list_checkpoints(folder)]
    order = {name: i for i, name in enumerate(FACE_DATASETS)}
    return sorted(models, key=lambda m: (order.get(m.dataset, len(order)), m.dataset, m.name))


def photo_models(models: list[FaceModel]) -> list[FaceModel]:
    """The models for real photos: those of face datasets, models of LFW's faces only first, then of LFW."""
    faces = [m for m in models if m.dataset in FACE_DATASETS]
    return sorted(faces, key=lambda m: (m.dataset != "faces", not m.options.get("faces_only")))


def page_options(model: FaceModel) -> dict:
    """The dataset options the page loads the model's faces with: the card's, capped at PAGE_LIMIT."""
    return {**model.options, **({"limit": PAGE_LIMIT[model.dataset]} if model.dataset in PAGE_LIMIT else {})}


def load_faces(model: FaceModel, load: Callable[..., ImageDataset] = load_dataset) -> ImageDataset:
    """The faces of the model's dataset, through `load(name, **options)` (the page passes its cached loader);
    the LFW subset for a subset model when full LFW is cached; DatasetMismatch when the shapes still differ."""
    options = page_options(model)
    data = load(model.dataset, **options)
    if data.image_shape != model.input_shape and model.dataset == "faces":
        data = replace(load("faces", **options, subset=True), notes=[
            f"Full LFW is in your cache, but {model.name} was trained on scikit-image's 25×25 subset: this page "
            "shows that subset. `python -m engine train --dataset faces …` trains a model on full LFW, and the "
            "page lists it."])
    if data.image_shape != model.input_shape:
        raise DatasetMismatch(f"{model.name} takes images of shape {'×'.join(map(str, model.input_shape))}, but its "
                              f"dataset {model.dataset} now gives {'×'.join(map(str, data.image_shape))}. "
                              "Pick another model.")
    return data
