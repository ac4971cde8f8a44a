"""engine.checkpoints: exact round trips, and refusal of anything that is not a Latent Lab safetensors file.

Everything is written to tmp_path; the repository's checkpoints/ folder is never read.
"""
import builtins
import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch, save_file as save_torch

from engine.latent.checkpoints import (CARD_KEY, Card, list_checkpoints, load_checkpoint, load_maps, map_path,
                                       read_card, save_checkpoint, save_maps)
from engine.checkpoints import CheckpointError
from engine.device import configure_threads
from engine.latent.models import AEConfig, Autoencoder
from engine.latent.train import TrainConfig

configure_threads(1)


def model_and_card(kind="conv", code=3, seed=0, name="digits-test"):
    torch.manual_seed(seed)
    model = Autoencoder(AEConfig(kind=kind, input_shape=(1, 8, 8), code_size=code, channels=4, hidden=16))
    card = Card(name=name, dataset="digits", dataset_options={"limit": 100}, dataset_source="unit test",
                model={}, train=TrainConfig(epochs=3, seed=seed).to_dict(),
                metrics={"test_mse": np.float32(0.0123), "pca_test_mse": 0.02, "epochs_done": np.int64(3)},
                command="python -m engine train --dataset digits --out x")
    return model, card


class MakesMarker:
    """Unpickling this calls open(marker, 'w'): the file appears iff something unpickled it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


@pytest.mark.parametrize("kind", ["linear", "dense", "conv", "vae"])
def test_round_trip_is_exact(tmp_path, kind):
    model, card = model_and_card(kind)
    path = save_checkpoint(model, card, tmp_path / "sub" / "ckpt")
    assert path == tmp_path / "sub" / "ckpt.safetensors" and path.exists()
    loaded, card2 = load_checkpoint(path)
    original = model.state_dict()
    assert loaded.state_dict().keys() == original.keys()
    for key, tensor in loaded.state_dict().items():
        assert tensor.dtype == original[key].dtype
        assert torch.equal(tensor, original[key]), key
    codes = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(codes), model.decode(codes))
    assert AEConfig(**card2.model) == model.config
    assert not loaded.training
    assert card2.metrics == {"test_mse": pytest.approx(0.0123), "pca_test_mse": 0.02, "epochs_done": 3}
    for field in ("name", "dataset", "dataset_options", "dataset_source", "train", "command", "created", "format"):
        assert getattr(card2, field) == getattr(card, field), field
    assert card2.title == f"digits · {kind} · code 3"


def test_json_sidecar_is_the_same_card(tmp_path):
    model, card = model_and_card()
    path = save_checkpoint(model, card, tmp_path / "ckpt")
    sidecar = json.loads((tmp_path / "ckpt.json").read_text())
    assert sidecar == json.loads(card.to_json())
    assert Card(**sidecar) == read_card(path)
    assert sidecar["model"]["kind"] == "conv" and sidecar["model"]["input_shape"] == [1, 8, 8]
    assert sidecar["command"].startswith("python -m engine train")


def test_dots_in_the_name_are_kept(tmp_path):
    """`--out checkpoints/mnist-vae-beta0.5` must not become mnist-vae-beta0.safetensors."""
    model, card = model_and_card()
    path = save_checkpoint(model, card, tmp_path / "digits-vae-beta0.5")
    assert path.name == "digits-vae-beta0.5.safetensors"
    assert (tmp_path / "digits-vae-beta0.5.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits-vae-beta0.5.json", "digits-vae-beta0.5.safetensors"]
    assert load_checkpoint(path)[1].name == card.name


def test_pickles_are_refused_without_being_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    # control: these files really do run code when unpickled
    control = tmp_path / "control.pt"
    torch.save({"evil": MakesMarker(marker)}, control)
    torch.load(control, weights_only=False)
    assert marker.exists()
    marker.unlink()

    pt = tmp_path / "model.pt"
    torch.save({"evil": MakesMarker(marker), "weight": torch.zeros(3)}, pt)
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(pickle.dumps({"evil": MakesMarker(marker)}))
    zipped = tmp_path / "zipped.safetensors"  # torch.save's zip format under the wrong name
    zipped.write_bytes(pt.read_bytes())

    with pytest.raises(CheckpointError, match=r"model\.pt: only \.safetensors .*refused"):
        load_checkpoint(pt)
    for path in (disguised, zipped):
        with pytest.raises(CheckpointError, match="not a valid safetensors file"):
            load_checkpoint(path)
        with pytest.raises(CheckpointError):
            read_card(path)
    assert not marker.exists()
    assert list_checkpoints(tmp_path) == []
    assert not marker.exists()


def test_safetensors_without_card_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.safetensors"
    save_torch({"w": torch.zeros(2, 2)}, str(path), metadata={"producer": "someone else"})
    with pytest.raises(CheckpointError, match="not a Latent Lab checkpoint"):
        load_checkpoint(path)
    save_torch({"w": torch.zeros(2, 2)}, str(path))  # no metadata at all
    with pytest.raises(CheckpointError, match="not a Latent Lab checkpoint"):
        read_card(path)


def rewrite(path, tensors, card_json):
    save_torch(tensors, str(path), metadata={CARD_KEY: card_json})


def test_weights_that_do_not_match_the_card_are_refused(tmp_path):
    model, card = model_and_card(code=3)
    path = save_checkpoint(model, card, tmp_path / "ckpt")
    tensors, card_json = load_torch(str(path)), read_card(path).to_json()

    other, _ = model_and_card(code=5)  # same layers, other shapes
    rewrite(path, {k: v.contiguous() for k, v in other.state_dict().items()}, card_json)
    with pytest.raises(CheckpointError, match="weights do not match the card"):
        load_checkpoint(path)

    missing = dict(tensors)
    missing.pop(sorted(missing)[0])
    rewrite(path, missing, card_json)
    with pytest.raises(CheckpointError, match="weights do not match the card"):
        load_checkpoint(path)

    rewrite(path, {**tensors, "extra.weight": torch.zeros(1)}, card_json)
    with pytest.raises(CheckpointError, match="weights do not match the card"):
        load_checkpoint(path)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["model"].update(kind="transformer"), "weights do not match the card"),
    (lambda c: c["model"].update(layers=3), "weights do not match the card"),
    (lambda c: c.update(format="latentlab-autoencoder-0"), "has format"),
    (lambda c: c.update(unknown_field=1), "unreadable card"),
    (lambda c: c.pop("dataset"), "unreadable card"),
])
def test_bad_cards_are_refused(tmp_path, edit, message):
    model, card = model_and_card()
    path = save_checkpoint(model, card, tmp_path / "ckpt")
    data = json.loads(read_card(path).to_json())
    edit(data)
    rewrite(path, load_torch(str(path)), json.dumps(data))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_unparseable_card_is_refused(tmp_path):
    model, card = model_and_card()
    path = save_checkpoint(model, card, tmp_path / "ckpt")
    rewrite(path, load_torch(str(path)), "{not json")
    with pytest.raises(CheckpointError, match="unreadable card"):
        read_card(path)


def test_list_checkpoints_skips_junk_and_maps(tmp_path):
    a = save_checkpoint(*model_and_card(name="b-second"), tmp_path / "b-second")
    b = save_checkpoint(*model_and_card(kind="dense", name="a-first"), tmp_path / "a-first")
    save_maps(a, {"pca": np.zeros((5, 2))}, {"points": 5})
    # a map file that even carries a card is still not a checkpoint
    (tmp_path / "a-first.map.safetensors").write_bytes(b.read_bytes())
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "text.safetensors").write_text("hello")
    (tmp_path / "truncated.safetensors").write_bytes(b.read_bytes()[:300])
    (tmp_path / "folder.safetensors").mkdir()
    save_torch({"w": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"))
    torch.save({"w": torch.zeros(1)}, tmp_path / "legacy.pt")
    found = list_checkpoints(tmp_path)
    assert [p.name for p, _ in found] == ["a-first.safetensors", "b-second.safetensors"]
    assert [c.name for _, c in found] == ["a-first", "b-second"]
    assert [c.model["kind"] for _, c in found] == ["dense", "conv"]
    assert list_checkpoints(tmp_path / "nowhere") == []


def test_maps_round_trip(tmp_path):
    ckpt = save_checkpoint(*model_and_card(), tmp_path / "digits-conv-0.5")
    rng = np.random.default_rng(0)
    maps = {"pca": rng.normal(size=(40, 2)), "umap": rng.normal(size=(40, 2)).astype(np.float32),
            "tsne3": rng.normal(size=(40, 3))}
    info = {"points": np.int64(40), "data_fingerprint": "abc", "methods": {"pca": {"seconds": 0.1}}}
    path = save_maps(ckpt, maps, info)
    assert path == map_path(ckpt) == tmp_path / "digits-conv-0.5.map.safetensors"
    loaded, info2 = load_maps(ckpt)
    assert loaded.keys() == maps.keys()
    for key, value in maps.items():
        assert loaded[key].dtype == np.float32
        np.testing.assert_array_equal(loaded[key], value.astype(np.float32))
    assert info2 == {"points": 40, "data_fingerprint": "abc", "methods": {"pca": {"seconds": 0.1}}}
    assert [p.name for p, _ in list_checkpoints(tmp_path)] == ["digits-conv-0.5.safetensors"]


def test_load_maps_without_maps(tmp_path):
    ckpt = save_checkpoint(*model_and_card(), tmp_path / "ckpt")
    assert load_maps(ckpt) == ({}, {})
    save_numpy({"pca": np.zeros((3, 2), np.float32)}, str(map_path(ckpt)))  # maps but no info
    maps, info = load_maps(ckpt)
    assert list(maps) == ["pca"] and info == {}


def test_models_are_offered_only_for_the_data_they_were_trained_on():
    from engine.checkpoints import CHECKPOINT_DIR
    from engine.latent.checkpoints import read_card

    faces = read_card(CHECKPOINT_DIR / "faces-conv-16.safetensors")
    lfw_faces_only = read_card(CHECKPOINT_DIR / "lfw-conv-16.safetensors")
    assert faces.fits("faces", (1, 25, 25)) and faces.fits("faces", (1, 25, 25), {"download": True})
    assert not lfw_faces_only.fits("faces", (1, 25, 25))  # trained on the 100 faces, not faces + non-faces
    assert lfw_faces_only.fits("faces", (1, 25, 25), {"faces_only": True})
    assert not faces.fits("faces", (1, 32, 32)) and not faces.fits("mnist", (1, 25, 25))
