"""engine.data.procfaces: deterministic by seed, registered as a dataset, and every label matches what is drawn."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import procfaces as pf
from engine.data import DATASETS, dataset_status, load_dataset


def test_same_seed_same_faces_other_seed_other_faces():
    a, b = pf.render(pf.sample_params(40, seed=3)), pf.render(pf.sample_params(40, seed=3))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, pf.render(pf.sample_params(40, seed=4)))
    assert a.dtype == np.float32 and a.shape == (40, 3, 64, 64) and a.min() >= 0 and a.max() <= 1


def test_registered_dataset_with_attributes_row_aligned():
    assert DATASETS["procfaces"].title == "Procedural faces" and dataset_status()["procfaces"] is None
    data = load_dataset("procfaces", limit=30, seed=5, label="glasses")
    attrs = pf.attributes(limit=30, seed=5)
    assert data.images.shape == (30, 3, 64, 64) and data.image_shape == (3, 64, 64)
    assert np.array_equal(data.labels, attrs["glasses"]) and data.label_names == ["no glasses", "glasses"]
    assert np.array_equal(data.images, pf.render(pf.sample_params(30, 5)))
    assert set(pf.BINARY) | set(pf.CONTINUOUS) == set(attrs)
    with pytest.raises(ValueError, match="label must be one of"):
        load_dataset("procfaces", limit=3, label="hat")


def test_glasses_colour_present_iff_label():
    params = pf.sample_params(300, seed=1)
    images = pf.render(params)
    frame = np.abs(images - pf.GLASSES_COLOUR[None, :, None, None]).max(1) < 0.03
    counts = frame.sum((1, 2))
    assert 0.2 < params["glasses"].mean() < 0.5
    assert np.all((counts > 3) == (params["glasses"] == 1)), counts[:20]


def test_mustache_above_the_mouth_iff_label_with_or_without_a_beard():
    params = pf.sample_params(300, seed=2)
    images = pf.render(params)
    skin, hair = pf.skin_and_hair(params["skin_tone"], params["hair_tone"])
    x, y = pf.to_pixels(params, 0.0, pf.MOUTH_V - 3.0)  # the mustache's centre line, between nose and lips
    pixel = images[np.arange(300), :, np.round(y).astype(int), np.round(x).astype(int)]
    is_mustache = np.abs(pixel - hair * pf.MUSTACHE_SHADE).max(1) < 0.02
    is_skin = np.abs(pixel - skin).max(1) < 0.02  # a beard leaves the upper lip bare
    assert params["beard"].sum() > 50
    assert np.all(is_mustache == (params["mustache"] == 1)) and np.all(is_skin == (params["mustache"] == 0))


def test_hair_beard_and_mustache_always_contrast_with_the_skin():
    params = pf.sample_params(5000, seed=0)
    assert pf.contrast(params["skin_tone"], params["hair_tone"]).min() >= pf.MIN_CONTRAST
    assert params["hair_tone"].min() < 0.05 and params["hair_tone"].max() > 0.95  # blond and black hair both occur


@pytest.mark.parametrize("name", pf.BINARY)
def test_each_binary_attribute_changes_only_its_region(name):
    params = pf.sample_params(200, seed=7)
    flipped = {**params, name: 1 - params[name]}
    if name == "smile":  # the drawn quantity is the curvature; the label says which side of 1 it is
        flipped["mouth_curvature"] = np.where(params["smile"] == 1, -0.5, 2.5).astype(np.float32)
    diff = np.abs(pf.render(params) - pf.render(flipped)).max(1)
    changed = diff > 0.02
    assert changed.any((1, 2)).all(), f"flipping {name} left some faces unchanged"
    rows = np.flatnonzero(changed.any((0, 2)))
    assert rows.min() >= 10 and rows.max() <= 60  # never the background above the hair
    if name == "glasses":
        assert rows.max() <= 44  # the eye band
    if name in ("smile", "mustache"):
        assert rows.min() >= 33  # below the eyes


def test_teeth_show_in_the_middle_of_the_mouth_iff_smile():
    """A smile is drawn open, with white teeth below the mouth's corner line; no other mouth shows white there."""
    params = pf.sample_params(500, seed=0)
    images = pf.render(params)
    x, y = pf.to_pixels(params, 0.0, pf.MOUTH_V + 1.6)  # the middle of the mouth, a little below its corners
    x, y = np.round(x).astype(int), np.round(y).astype(int)
    white = np.array([(images[i, :, y[i] - 2:y[i] + 3, x[i] - 2:x[i] + 3].min(0) > 0.9).sum() for i in range(500)])
    assert 0.3 < params["smile"].mean() < 0.7
    assert np.all((white >= 3) == (params["smile"] == 1)), white[:20]


def test_beard_and_mustache_are_correlated():
    params = pf.sample_params(5000, seed=0)
    m, b = params["mustache"] == 1, params["beard"] == 1
    assert m[b].mean() > 0.6 and m[~b].mean() < 0.3
