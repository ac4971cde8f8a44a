"""The command line (`python -m engine train|project|attribute-classifier`), and the small helpers behind retrieval,
export and images."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import __main__ as cli
from engine.latent.checkpoints import load_checkpoint, load_maps, read_card
from engine.data import load_dataset
from engine.device import configure_threads
from engine.latent.export import codes_csv
from engine.imageio import atlas, grid, to_uint8
from engine.latent.projection import fingerprint
from engine.latent.retrieval import nearest_neighbours, precision_at_k

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

configure_threads(1)


def run_cli(*args):
    env = {**os.environ, "LATENTLAB_THREADS": "1", "LATENTLAB_DEVICE": "cpu"}
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    done = subprocess.run([python, "-m", "engine", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_train_then_project(tmp_path):
    out = tmp_path / "d"
    log = run_cli("train", "--dataset", "digits", "--kind", "conv", "--code", "4", "--epochs", "2",
                  "--out", str(out))
    assert "epoch 2/2" in log and f"wrote {out}.safetensors" in log
    ckpt = tmp_path / "d.safetensors"
    assert ckpt.exists() and (tmp_path / "d.json").exists()
    card = json.loads((tmp_path / "d.json").read_text())
    assert read_card(ckpt).metrics == card["metrics"]
    m = card["metrics"]
    assert 0 < m["test_mse"] < 0.2 and 0 < m["pca_test_mse"] < 0.2
    assert m["mse_ratio_vs_pca"] == pytest.approx(m["test_mse"] / m["pca_test_mse"])
    assert m["epochs_done"] == 2 and m["images"] == 1797 and m["test_images"] == round(1797 * 0.1)
    assert card["command"] == f"python -m engine train --dataset digits --kind conv --code 4 --epochs 2 --out {out}"
    assert card["model"]["kind"] == "conv" and card["model"]["code_size"] == 4
    assert card["model"]["input_shape"] == [1, 8, 8] and card["dataset"] == "digits"
    assert card["train"]["epochs"] == 2 and card["train"]["seed"] == 0

    assert cli.main(["project", str(ckpt), "--methods", "pca"]) == 0  # in-process: saves a second start-up
    assert (tmp_path / "d.map.safetensors").exists()
    maps, info = load_maps(ckpt)
    assert list(maps) == ["pca"] and maps["pca"].shape == (1797, 2)
    assert info["points"] == 1797 and list(info["methods"]) == ["pca"]
    scores = info["methods"]["pca"]
    assert 0.5 < scores["trustworthiness"] <= 1 and 0.1 < scores["knn_accuracy"] <= 1
    # the map belongs to exactly these images: the app matches them by fingerprint
    model, _ = load_checkpoint(ckpt)
    images = load_dataset("digits").images
    assert info["data_fingerprint"] == fingerprint(images)
    codes = model.encode(images)
    assert np.corrcoef(maps["pca"][:, 0], (codes - codes.mean(0)) @ np.linalg.svd(codes - codes.mean(0))[2][0])[0, 1] ** 2 > 0.99


def test_same_command_same_checkpoint(tmp_path):
    """The card records the command and seed; running it again must rebuild the same weights."""
    argv = ["train", "--dataset", "digits", "--kind", "dense", "--code", "3", "--hidden", "16",
            "--epochs", "1", "--threads", "1", "--device", "cpu"]
    weights = []
    for i, global_seed in enumerate((123, 456)):  # whatever state torch's RNG happens to be in
        torch.manual_seed(global_seed)
        assert cli.main(argv + ["--out", str(tmp_path / f"run{i}")]) == 0
        weights.append(load_checkpoint(tmp_path / f"run{i}.safetensors")[0].state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    torch.manual_seed(123)
    cli.main(argv[:-4] + ["--seed", "1", "--threads", "1", "--device", "cpu", "--out", str(tmp_path / "other")])
    other = load_checkpoint(tmp_path / "other.safetensors")[0].state_dict()
    assert not all(torch.equal(weights[0][k], other[k]) for k in other)


def test_attribute_classifier_card_records_a_command_that_rebuilds_it(tmp_path):
    """`python -m engine attribute-classifier` (checkpoints/rebuild.sh): the card names the command, the data and
    the autoencoders whose reconstructions it learnt from; running the command again gives the same weights."""
    from engine.data.procfaces import BINARY
    from engine.faces.attributes import load_classifier, predict

    argv = ["attribute-classifier", "--faces", "200", "--epochs", "1", "--reconstructions", "procfaces-conv-32",
            "--threads", "1"]
    nets = []
    for i, global_seed in enumerate((123, 456)):  # whatever state torch's RNG happens to be in
        torch.manual_seed(global_seed)
        assert cli.main(argv + ["--out", str(tmp_path / f"run{i}")]) == 0
        nets.append(load_classifier(tmp_path / f"run{i}.safetensors"))
    (net, card), (again, _) = nets
    assert card["command"] == "python -m engine " + " ".join(argv) + f" --out {tmp_path / 'run0'}"
    assert card["attributes"] == list(BINARY) and card["dataset_options"] == {"limit": 200, "seed": 1}
    assert list(card["reconstructions"]) == ["procfaces-conv-32"] and card["metrics"]["train_images"] == 180
    assert json.loads((tmp_path / "run0.json").read_text()) == card
    weights, other = net.state_dict(), again.state_dict()
    assert all(torch.equal(weights[k], other[k]) for k in weights)
    faces = np.random.default_rng(0).random((3, 3, 64, 64), np.float32)
    assert predict(faces, net).shape == (3, len(BINARY))


# ------------------------------------------------------------------ retrieval


def test_nearest_neighbours_exclude_the_query_and_are_sorted():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 5)).astype(np.float32)
    vectors[50] = vectors[7]  # an exact duplicate of the query is a neighbour at distance 0
    found = nearest_neighbours(vectors, 7, 10)
    d = ((vectors - vectors[7]) ** 2).sum(1)
    assert 7 not in found and found[0] == 50 and len(found) == 10
    assert np.all(np.diff(d[found]) >= 0)
    others = np.delete(np.arange(200), 7)
    assert set(found) == set(others[np.argsort(d[others], kind="stable")[:10]])
    images = rng.random((30, 1, 4, 4))  # images are flattened
    assert len(nearest_neighbours(images, 0, 100)) == 29 and 0 not in nearest_neighbours(images, 0, 100)
    assert len(nearest_neighbours(images, 0, 0)) == 0


def test_precision_at_k_separates_good_and_bad_codes():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    good = np.eye(4)[labels] * 10 + rng.normal(size=(200, 4))
    assert precision_at_k(good, labels, k=5) > 0.95
    assert precision_at_k(rng.normal(size=(200, 4)), labels, k=5) < 0.45


# ------------------------------------------------------------------ export


def test_codes_csv():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(6, 3)).astype(np.float32)
    coords = rng.normal(size=(6, 2))
    labels = np.array([0, 1, 2, 0, 1, 2])
    rows = list(csv.reader(io.StringIO(codes_csv(codes, coords, labels, ["cat", "dog", "owl"]).decode())))
    assert rows[0] == ["index", "label", "x", "y", "code_0", "code_1", "code_2"]
    assert len(rows) == 1 + 6
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(6)]
    assert [r[1] for r in rows[1:]] == ["cat", "dog", "owl", "cat", "dog", "owl"]
    table = np.array([r[2:] for r in rows[1:]], float)
    np.testing.assert_allclose(table[:, :2], coords, rtol=1e-5)
    np.testing.assert_allclose(table[:, 2:], codes, rtol=1e-5)

    rows = list(csv.reader(io.StringIO(codes_csv(codes, rng.normal(size=(6, 3))).decode())))
    assert rows[0] == ["index", "x", "y", "z", "code_0", "code_1", "code_2"] and len(rows) == 7
    rows = list(csv.reader(io.StringIO(codes_csv(codes, coords, labels).decode())))
    assert [r[1] for r in rows[1:]] == ["0", "1", "2", "0", "1", "2"]


# ------------------------------------------------------------------ images


def distinct_images(n, c, h, w):
    """Images whose tiles can all be told apart."""
    return np.random.default_rng(n).random((n, c, h, w)).astype(np.float32)


def test_grid_geometry():
    images = distinct_images(7, 1, 8, 6)
    out = grid(images, per_row=3, pad=2, fill=200)
    assert out.shape == (3 * 10 - 2, 3 * 8 - 2) and out.dtype == np.uint8
    tiles = to_uint8(images)
    for i in range(7):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(out[r * 10 : r * 10 + 8, c * 8 : c * 8 + 6], tiles[i])
    assert np.all(out[8:10, :] == 200) and np.all(out[:, 6:8] == 200)  # padding
    assert np.all(out[20:, 8:] == 200)  # the two empty slots of the last row
    rgb = grid(distinct_images(2, 3, 4, 4), per_row=5, pad=0)
    assert rgb.shape == (4, 8, 3)  # per_row is capped at N


def test_to_uint8_rounds_and_clips():
    x = np.array([[[[-0.5, 0.0, 0.5, 1.0, 2.0]]]], np.float32)
    np.testing.assert_array_equal(to_uint8(x)[0, 0], [0, 0, 128, 255, 255])


def read_png(data):
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("channels", [1, 3])
def test_atlas_chunks_and_tile_positions(channels):
    images = distinct_images(47, channels, 8, 8)
    chunks, geo = atlas(images, max_width=44, max_height=26)
    assert geo == {"tile_h": 8, "tile_w": 8, "per_row": 5, "per_chunk": 15, "count": 47}
    assert len(chunks) == 4  # ceil(47 / 15): the last sheet holds 2 tiles
    sheets = [read_png(c) for c in chunks]
    assert all(s.shape[0] <= 26 and s.shape[1] <= 44 for s in sheets)
    tiles = to_uint8(images)
    for i in range(47):  # where the browser looks for image i
        chunk, j = divmod(i, geo["per_chunk"])
        row, col = divmod(j, geo["per_row"])
        y, x = row * geo["tile_h"], col * geo["tile_w"]
        np.testing.assert_array_equal(sheets[chunk][y : y + 8, x : x + 8], tiles[i])


def test_atlas_shrinks_large_images():
    images = distinct_images(5, 1, 64, 40)
    chunks, geo = atlas(images, max_tile=32)
    assert (geo["tile_h"], geo["tile_w"]) == (32, 20) and len(chunks) == 1
    sheet = read_png(chunks[0])
    assert sheet.shape == (32, 5 * 20)
    # each pixel of a tile is the mean of a 2×2 block of the original (64×40 → 32×20), within rounding
    expected = images[:, :, :, :].reshape(5, 1, 32, 2, 20, 2).mean((3, 5))
    for i in range(5):
        assert np.abs(sheet[:, i * 20 : (i + 1) * 20].astype(int) - to_uint8(expected)[i]).max() <= 1
