"""The morphing page's models and the faces each takes: page order, models for photos, the LFW subset rule."""
from __future__ import annotations

import numpy as np
import pytest

from engine.checkpoints import CHECKPOINT_DIR
from engine.data import ImageDataset
from engine.faces.checkpoints import DatasetMismatch, list_models, load_faces, photo_models
from engine.latent.checkpoints import list_checkpoints


def shipped(name: str):
    return next(m for m in list_models() if m.name == name)


def stand_in(shapes: dict[tuple[str, bool], tuple[int, int, int]], calls: list):
    """A dataset loader that records its calls and gives 3 blank images of shapes[(name, subset)]."""
    def load(name: str, **options) -> ImageDataset:
        calls.append((name, options))
        images = np.zeros((3, *shapes[name, options.get("subset", False)]), np.float32)
        return ImageDataset(name, images, None, None, "test stand-in", notes=["from the loader"])
    return load


def test_every_checkpoint_is_listed_face_models_first():
    models = list_models()
    assert sorted(m.path for m in models) == sorted(str(p) for p, _ in list_checkpoints(CHECKPOINT_DIR))
    datasets = [m.dataset for m in models]
    assert datasets[:7] == ["procfaces"] * 3 + ["faces"] * 4 and "procfaces" not in datasets[7:]
    assert shipped("lfw-vae-16").title == "lfw-vae-16 — Variational AE (convolutional), code 16"


def test_photo_models_are_the_face_models_lfw_faces_only_first():
    names = [m.name for m in photo_models(list_models())]
    assert names[:3] == ["lfw-conv-16", "lfw-linear-16", "lfw-vae-16"]  # trained on LFW's faces, not non-faces
    assert names[3] == "faces-conv-16" and set(names[4:]) == {"procfaces-conv-32", "procfaces-linear-32",
                                                              "procfaces-vae-32"}


def test_procedural_faces_are_capped_for_the_page_and_lfw_keeps_its_card_options():
    calls = []
    load = stand_in({("procfaces", False): (3, 64, 64), ("faces", False): (1, 25, 25)}, calls)
    assert len(load_faces(shipped("procfaces-conv-32"), load)) == 3
    load_faces(shipped("lfw-conv-16"), load)
    assert calls == [("procfaces", {"limit": 2000}), ("faces", {"faces_only": True})]


def test_a_subset_model_gets_the_subset_when_full_lfw_is_cached():
    calls = []
    load = stand_in({("faces", False): (1, 32, 32), ("faces", True): (1, 25, 25)}, calls)
    data = load_faces(shipped("lfw-conv-16"), load)
    assert data.image_shape == (1, 25, 25) and calls[-1] == ("faces", {"faces_only": True, "subset": True})
    assert len(data.notes) == 1 and "lfw-conv-16 was trained on scikit-image's 25×25 subset" in data.notes[0]


def test_a_dataset_that_no_longer_fits_the_model_is_refused_with_both_shapes():
    load = stand_in({("mnist", False): (1, 32, 32)}, [])
    with pytest.raises(DatasetMismatch, match="takes images of shape 1×28×28.*now gives 1×32×32"):
        load_faces(shipped("mnist-conv-16"), load)


@pytest.mark.parametrize("name, faces", [("procfaces-vae-32", 2000), ("lfw-conv-16", 100)])  # LFW subset: 100 faces
def test_the_real_loader_gives_each_face_model_its_faces(name, faces):
    model = shipped(name)
    data = load_faces(model)
    assert data.image_shape == model.input_shape and len(data) == faces
