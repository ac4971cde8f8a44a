"""engine.gan: losses update the right network, mode coverage, the GAN's gradient view and history, the live
trainer's thread and snapshot, divergence, the CSV reader, checkpoints, and the shipped DCGAN and classifier."""
import threading
import time

import numpy as np
import pytest
import torch

from engine import jobs
from engine.checkpoints import CheckpointError
from engine.data import load_dataset
from engine.device import configure_threads
from engine.gan.checkpoint import DCGAN_PATH, read_gan_card
from engine.gan.digit_score import CLASSIFIER_PATH, PASS_SHARE, classifier_accuracy, classifier_score, load_classifier
from engine.gan.history import History, curves
from engine.gan.model import GAN, GANConfig
from engine.gan.nets import LOSSES
from engine.gan.snapshot import HIST_EDGES, observe
from engine.gan.trainer import GANTrainer, load_trainer
from engine.gan.toy2d import MAX_CSV_ROWS, PointsError, mode_metrics, read_points_csv, toy_modes, toy_points
from engine.data import split_indices
from waiting import wait_until

configure_threads(1)


def small(**kw) -> GANConfig:
    return GANConfig(**{"width": 16, "depth": 1, "device": "cpu", **kw})


@pytest.fixture
def made():
    """Build trainers through this, so every one is closed even when a test fails; afterwards no thread the
    test started is left and every training slot it took is free again."""
    trainers, threads, free = [], set(threading.enumerate()), jobs.SLOTS.free

    def make(config, data=None):
        trainers.append(GANTrainer(config, data))
        return trainers[-1]

    yield make
    for t in trainers:
        t.close()
    assert not set(threading.enumerate()) - threads
    assert jobs.SLOTS.free == free


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").images[:300]


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def largest_change(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


# ---------------------------------------------------------------- losses and networks


@pytest.mark.parametrize("loss", LOSSES)
def test_d_step_changes_only_d_and_g_step_only_g(made, loss):
    t = made(small(loss=loss))
    g0, d0 = params(t.G), params(t.D)
    t.step("d")
    assert same(params(t.G), g0) and not same(params(t.D), d0)
    g1, d1 = params(t.G), params(t.D)
    t.step("g")
    assert same(params(t.D), d1) and not same(params(t.G), g1)
    snap = t.snapshot()
    assert snap.step == 2 and snap.iterations == 2 and snap.state == "paused"
    assert np.isfinite(snap.loss_d).all() and np.isfinite(snap.loss_g[1:]).all()


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_dcgan_steps_on_odd_image_sizes(made, loss):
    faces = load_dataset("faces").images[:40]  # 25×25: generated at 28×28 and centre-cropped
    t = made(GANConfig(data="faces", loss=loss, channels=4, noise_dim=8, batch_size=4, device="cpu"), faces)
    g0, d0 = params(t.G), params(t.D)
    t.step("d")
    assert same(params(t.G), g0) and not same(params(t.D), d0)
    t.step("both")
    snap = t.snapshot()
    assert snap.samples.shape == (64, 1, 25, 25) and 0 <= snap.samples.min() and snap.samples.max() <= 1
    assert snap.real.shape == (64, 1, 25, 25) and snap.hist_fake.sum() == 64 and snap.field is None


def test_k_d_and_m_g_count_steps(made):
    t = made(small(k_d=3, m_g=2))
    t.step("both", 2)
    assert t.snapshot().step == 10 and t.snapshot().iterations == 2


# ---------------------------------------------------------------- 2-D view


def test_default_ring8_covers_the_modes(made):
    t = made(GANConfig(device="cpu"))  # the page's default: ring8, non-saturating, 3 × 128 MLPs, seed 0
    t.step("both", 1500)
    snap = t.snapshot()
    assert snap.metric["modes_covered"] >= 7, snap.metric
    assert snap.metric["high_quality"] > 0.3


def test_snapshot_views_have_their_shapes(made):
    t = made(small())
    t.step("both", 3)
    s = t.snapshot()
    assert s.samples.shape == (512, 2) and s.real.shape == (512, 2) and s.grad.shape == (512, 2)
    assert s.manifold.shape == (15, 15, 2)
    xs, ys, grid = s.field
    assert xs.shape == (64,) and ys.shape == (64,) and grid.shape == (64, 64) and 0 <= grid.min() <= grid.max() <= 1
    assert s.hist_real.sum() == 512 and s.hist_fake.sum() == 512 and len(s.hist_real) == len(HIST_EDGES) - 1
    assert s.metric["modes"] == 8 and len(s.loss_d) == len(s.history_x) == 3
    xs, ys, grid = t.field(n=10, extent=(-1, 1, -2, 2))
    assert xs[0] == -1 and ys[-1] == 2 and grid.shape == (10, 10)


def test_grad_points_where_the_generator_loss_falls():
    gan = GAN(small())  # the maths alone, no thread
    for _ in range(20):
        gan.iterate("both")
    view = observe(gan)

    def generator_loss(points):  # non-saturating L_G, summed, at points in data units
        with torch.no_grad():
            return torch.nn.functional.softplus(-gan.D(gan.to_model(points))).sum().item()

    step = 1e-3 * view["grad"] / np.abs(view["grad"]).max()
    assert generator_loss(view["samples"] + step) < generator_loss(view["samples"]) < generator_loss(view["samples"] - step)


def test_history_is_block_averaged_when_long():
    history = History()
    losses = np.arange(1, 26, dtype=float) ** 2
    for i, loss in enumerate(losses, 1):
        history.append(i, loss, -loss, 0.5, 0.25)
    full = curves(history.rows())
    assert full["history_x"] == list(range(1, 26)) and full["loss_d"] == losses.tolist()
    short = curves(history.rows(), max_points=10)  # blocks of ⌈25 / 10⌉ = 3 iterations, the last one 1
    assert len(short["loss_d"]) == 9 and short["history_x"][:2] == [3, 6] and short["history_x"][-1] == 25
    assert short["loss_d"][0] == pytest.approx(losses[:3].mean()) and short["loss_d"][-1] == pytest.approx(losses[24])
    assert short["loss_g"][1] == pytest.approx(-losses[3:6].mean()) and set(short["d_fake"]) == {0.25}


def test_snapshot_holds_one_history_entry_per_iteration(made):
    t = made(small())
    t.step("d", 25)
    snap = t.snapshot()
    assert snap.history_x == list(range(1, 26)) and len(snap.loss_d) == len(snap.d_real) == 25
    assert np.isfinite(snap.loss_d).all() and np.isnan(snap.loss_g).all()  # no G step yet


# ---------------------------------------------------------------- the background thread


def test_snapshots_stay_consistent_while_the_thread_trains(made):
    t = made(small())
    t.start()
    errors, seen = [], []

    def read():
        try:
            last, deadline = -1, time.monotonic() + 20
            while last < 50 and time.monotonic() < deadline:  # until the thread has trained a while
                s = t.snapshot()
                assert len(s.loss_d) == len(s.loss_g) == len(s.d_real) == len(s.d_fake) == len(s.history_x)
                assert s.iterations >= (s.history_x[-1] if s.history_x else 0) >= last
                assert s.samples.shape == (512, 2) and s.field[2].shape == (64, 64)
                last = s.history_x[-1] if s.history_x else 0
                seen.append(s.iterations)
        except Exception as e:  # collected: an assert in a thread would be lost
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(30)
    assert not errors, errors
    assert max(seen) >= 50 and len(seen) > 100 and t.snapshot().state == "running"
    wait_until(lambda: t.snapshot().steps_per_second > 0)


def test_pause_stops_the_step_counter(made):
    t = made(small())
    t.start()
    wait_until(lambda: t.snapshot().iterations > 20)
    t.pause()
    paused = t.snapshot()
    time.sleep(0.3)
    assert t.snapshot().iterations == paused.iterations and paused.state == "paused"
    assert "Paused" in paused.message
    t.start()
    wait_until(lambda: t.snapshot().iterations > paused.iterations)


def test_step_while_running_pauses_first(made):
    t = made(small())
    t.start()
    wait_until(lambda: t.snapshot().iterations > 5)
    t.step("g")
    n = t.snapshot().iterations
    time.sleep(0.2)
    assert t.snapshot().iterations == n and t.snapshot().state == "paused"


def test_max_steps_ends_in_done(made):
    t = made(small(max_steps=30))
    t.start()
    wait_until(lambda: t.snapshot().state == "done")
    assert t.snapshot().iterations == 30 and "max_steps" in t.snapshot().message
    t.start()  # no-op once done
    assert t.snapshot().state == "done"
    t.update(max_steps=40)
    t.start()
    wait_until(lambda: t.snapshot().state == "done" and t.snapshot().iterations == 40)


def test_running_trainers_take_training_slots_and_the_next_one_queues(made):
    trainers = [made(small()) for _ in range(jobs.SLOTS.free + 2)]
    for t in trainers[:-2]:
        t.start()
    assert jobs.SLOTS.free == 0
    waiting, last = trainers[-2], trainers[-1]
    waiting.start()
    last.start()
    snap = waiting.snapshot()
    assert (snap.state, snap.queue, snap.iterations) == ("queued", (1, 2), 0)
    assert last.snapshot().queue == (2, 2)
    waiting.pause()  # Pause while queued leaves the queue
    assert waiting.snapshot().state == "paused" and last.snapshot().queue == (1, 1)
    waiting.start()
    assert waiting.snapshot().queue == (2, 2)  # back at the end
    trainers[0].pause()  # gives its slot back: the first in the queue runs by itself
    wait_until(lambda: last.snapshot().iterations > 0)
    assert last.snapshot().state == "running" and last.snapshot().queue is None
    assert waiting.snapshot().queue == (1, 1) and waiting.snapshot().iterations == 0
    last.close()  # a closed trainer gives back its slot too
    wait_until(lambda: waiting.snapshot().iterations > 0)
    assert waiting.snapshot().state == "running"


def test_reset_starts_over_and_update_changes_learning_rates(made):
    t = made(small())
    t.update(lr_d=0.01, lr_g=0.02)
    d, g = params(t.D), params(t.G)
    t.step("d")  # Adam's first step moves each weight by lr·|g| / (|g| + ε): the largest change is the rate
    assert largest_change(params(t.D), d) == pytest.approx(0.01, rel=1e-3)
    t.step("g")
    assert largest_change(params(t.G), g) == pytest.approx(0.02, rel=1e-3)
    t.step("both", 5)
    t.update(k_d=2, loss="hinge")
    t.step("both")
    assert t.snapshot().step == 15  # 2 + 5 × (1 + 1) + (2 + 1)
    first = t.snapshot().samples
    t.reset()
    assert t.snapshot().iterations == 0 and t.snapshot().loss_d == []
    t.reset(seed=5)
    assert not np.allclose(t.snapshot().samples, first) and t.config.seed == 5
    with pytest.raises(ValueError, match="learning rate"):
        t.update(lr_g=0)
    with pytest.raises(ValueError, match="press Reset"):
        t.update(width=3)


# ---------------------------------------------------------------- divergence and bad settings


def test_nan_weights_are_caught(made):
    t = made(small())
    with torch.no_grad():
        next(t.G.parameters())[0, 0] = float("nan")
    t.step("both", 5)  # nothing raises
    snap = t.snapshot()
    assert snap.state == "diverged" and "NaN" in snap.message and "Reset" in snap.message
    assert snap.iterations == 1
    free = jobs.SLOTS.free
    t.start()  # refused quietly: still diverged, no slot taken
    assert t.snapshot().state == "diverged" and jobs.SLOTS.free == free
    t.reset()
    assert t.snapshot().state == "paused"


def test_huge_learning_rate_diverges_in_the_background(made):
    t = made(small(lr_d=10, lr_g=10, optimizer="sgd", width=64, depth=2))
    free = jobs.SLOTS.free
    t.start()
    wait_until(lambda: t.snapshot().state == "diverged")
    snap = t.snapshot()
    assert "learning rate" in snap.message and "iteration" in snap.message
    assert jobs.SLOTS.free == free  # its slot is back


@pytest.mark.parametrize("kw, match", [
    ({"k_d": 0}, "k_d"), ({"m_g": 0}, "m_g"), ({"lr_d": 0}, "discriminator learning rate"),
    ({"lr_g": 100}, "generator learning rate"), ({"lr_d": float("nan")}, "learning rate"),
    ({"loss": "wasserstein"}, "Unknown loss"), ({"data": "cats"}, "Unknown data"), ({"batch_size": 0}, "Batch size"),
    ({"optimizer": "rmsprop"}, "optimizer"),
])
def test_absurd_settings_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        GANConfig(**kw).validate()


def test_batch_size_one_works(made, digits):
    t = made(small(batch_size=1))
    t.step("both", 5)
    assert t.snapshot().state == "paused" and np.isfinite(t.snapshot().loss_g).all()
    t = made(GANConfig(data="digits", batch_size=1, channels=4, noise_dim=8, device="cpu"), digits)
    t.step("both", 3)
    assert t.snapshot().state == "paused" and t.snapshot().samples.shape == (64, 1, 8, 8)


def test_data_must_match_the_config(made, digits):
    with pytest.raises(ValueError, match="n×2"):
        made(small(), digits)
    with pytest.raises(ValueError, match="N×C×H×W"):
        made(GANConfig(data="digits"), toy_points("ring8", 10))
    with pytest.raises(ValueError, match="read_points_csv"):
        made(small(data="custom"))
    with pytest.raises(ValueError, match="only drawn for 2-D"):
        made(GANConfig(data="digits", channels=4, device="cpu"), digits).field()


def test_custom_points_in_any_units(made):
    points = toy_points("moons", 500) * 1000 + 5e4
    t = made(small(data="custom"), points)
    t.step("both", 3)
    s = t.snapshot()
    assert abs(s.real.mean() - points.mean()) < 500 and s.metric == {}
    assert t.extent[0] < points[:, 0].min() and t.extent[3] > points[:, 1].max()


# ---------------------------------------------------------------- 2-D data, CSV, mode metric


@pytest.mark.parametrize("name", ["ring8", "grid25", "spiral", "moons", "square"])
def test_toy_points(name):
    p = toy_points(name, 1000, seed=1)
    assert p.shape == (1000, 2) and p.dtype == np.float32 and np.abs(p).max() < 5
    assert np.array_equal(p, toy_points(name, 1000, seed=1))


def test_mode_metrics():
    modes = toy_modes("ring8")
    assert mode_metrics(modes, "ring8") == {"modes_covered": 8, "modes": 8, "high_quality": 1.0}
    assert mode_metrics(np.repeat(modes[:1], 10, 0) + 1.0, "ring8")["high_quality"] == 0.0
    assert mode_metrics(toy_points("grid25", 2000), "grid25")["modes_covered"] == 25
    assert toy_modes("spiral") is None and mode_metrics(modes, "spiral") == {}


def test_csv_reader_accepts_common_layouts():
    assert read_points_csv(b"x,y\n1,2\n3,4.5\n").tolist() == [[1, 2], [3, 4.5]]
    assert read_points_csv(b"\xef\xbb\xbf1;2\r\n\n# comment\n-3e1;.5\n").tolist() == [[1, 2], [-30, 0.5]]
    assert read_points_csv(b"1\t2\n3\t4\n").shape == (2, 2)
    assert read_points_csv(b'"x","y"\n"1","2"\n3 , 4\n').shape == (2, 2)


@pytest.mark.parametrize("data, match", [
    (b"x,y\n1,2\n3,abc\n", "Line 3: 'abc' is not a number"),
    (b"1,2\nfoo,bar\n", "Line 2: 'foo' is not a number"),
    (b"1,2\n3,nan\n", "Line 2.*finite"),
    (b"1,2\ninf,3\n", "Line 2.*finite"),
    (b"x,y\n1,2\n", "Found 1 point"),
    (b"", "Found 0 points"),
    (b"1,2,3\n4,5,6\n", "Line 1 has 3 columns"),
    (b"1,2\n3\n", "Line 2 has 1 column;"),
    (b"\xff\xfe1,2\n", "not UTF-8"),
])
def test_csv_reader_refuses_bad_files(data, match):
    with pytest.raises(PointsError, match=match):
        read_points_csv(data)


def test_csv_reader_caps_rows():
    assert read_points_csv(b"1,2\n" * MAX_CSV_ROWS).shape == (MAX_CSV_ROWS, 2)
    with pytest.raises(PointsError, match=f"line {MAX_CSV_ROWS + 1}"):
        read_points_csv(b"1,2\n" * (MAX_CSV_ROWS + 1))


# ---------------------------------------------------------------- checkpoints


def test_save_and_load_round_trip(made, tmp_path, digits):
    t = made(small(data="custom"), toy_points("spiral", 300) * 10)
    t.step("both", 30)
    path = t.save(tmp_path / "toy", command="test")
    assert path.name == "toy.safetensors" and (tmp_path / "toy.json").exists()
    u = load_trainer(path, t.data)
    assert np.array_equal(u.generate(50, seed=3), t.generate(50, seed=3))
    assert u.snapshot().iterations == 30 and u.snapshot().state == "paused"
    u.step("both", 2)  # continues training
    assert u.snapshot().iterations == 32
    u.close()

    img = made(GANConfig(data="digits", channels=4, noise_dim=8, device="cpu"), digits)
    img.step("both", 3)
    path = img.save(tmp_path / "img.safetensors")
    other = made(GANConfig(data="digits", channels=4, noise_dim=8, device="cpu"), digits)
    assert other.load(path)["iterations"] == 3
    assert np.array_equal(other.generate(8), img.generate(8))
    wrong = made(GANConfig(data="digits", channels=8, noise_dim=8, device="cpu"), digits)
    with pytest.raises(CheckpointError, match="channels"):
        wrong.load(path)


def test_load_refuses_pickles_and_foreign_files(tmp_path, made):
    (tmp_path / "x.pt").write_bytes(b"not safe")
    with pytest.raises(CheckpointError, match="pickled"):
        read_gan_card(tmp_path / "x.pt")
    (tmp_path / "y.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        read_gan_card(tmp_path / "y.safetensors")
    with pytest.raises(CheckpointError, match="not a Latent Lab GAN"):
        read_gan_card(CLASSIFIER_PATH)


def test_shipped_dcgan_makes_digits_the_classifier_recognises():
    card = read_gan_card(DCGAN_PATH)
    assert card["data"] == "mnist" and card["command"].startswith("python -m engine gan")
    assert DCGAN_PATH.stat().st_size + CLASSIFIER_PATH.stat().st_size < 10 * 1024**2
    t = load_trainer(DCGAN_PATH, device="cpu")
    try:
        score = classifier_score(t.generate(1000, seed=2))  # as measured for the card
        assert score["confident"] >= PASS_SHARE and score["balance"] > 0.9, score
        assert score["confident"] == pytest.approx(card["metrics"]["score_1000"]["confident"], abs=0.02)
        snap = t.snapshot()
        assert snap.samples.shape == (64, 1, 28, 28) and snap.metric["confident"] >= PASS_SHARE
        t.step("both")  # and training continues from it
        assert t.snapshot().iterations == card["iterations"] + 1
    finally:
        t.close()


def test_shipped_classifier_accuracy():
    net, card = load_classifier()
    data = load_dataset("mnist")
    _, test = split_indices(len(data), 0.1, card["seed"])
    accuracy = classifier_accuracy(net, data.images[test], data.labels[test])
    assert accuracy >= 0.95
    if len(data) == 5000:  # the offline subset the card was made on
        assert accuracy == pytest.approx(card["metrics"]["test_accuracy"], abs=1e-9)
    noise = np.random.default_rng(0).random((200, 1, 28, 28), dtype=np.float32)
    assert classifier_score(noise, net)["confident"] < 0.05


# ---------------------------------------------------------------- command line


def test_cli_gan_writes_a_card_with_its_command(tmp_path, capsys):
    from engine.__main__ import main

    out = tmp_path / "ring"
    assert main(["gan", "--data", "ring8", "--steps", "20", "--out", str(out)]) == 0
    card = read_gan_card(out.with_suffix(".safetensors"))
    assert card["command"] == f"python -m engine gan --data ring8 --steps 20 --out {out}"
    assert card["iterations"] == 20 and card["metrics"]["modes"] == 8
    out = tmp_path / "digits"
    assert main(["gan", "--data", "mnist", "--steps", "2", "--eval-every", "1", "--channels", "4", "--out", str(out)]) == 0
    card = read_gan_card(out.with_suffix(".safetensors"))
    assert card["config"]["channels"] == 4 and "score_1000" in card["metrics"] and "confident 0." in capsys.readouterr().out


def test_cli_gan_classifier(tmp_path):
    from engine.__main__ import main

    assert main(["gan-classifier", "--epochs", "1", "--out", str(tmp_path / "clf")]) == 0
    net, card = load_classifier(tmp_path / "clf.safetensors")
    assert card["command"].endswith("--epochs 1 --out " + str(tmp_path / "clf")) and card["metrics"]["test_accuracy"] > 0.8
