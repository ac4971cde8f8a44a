"""engine.latent.train: progress reports, stopping, reproducibility and input checks of the training loop."""
import numpy as np
import pytest
import torch

from engine.data import load_dataset
from engine.device import configure_threads
from engine.latent.models import AEConfig, Autoencoder
from engine.data import split_indices
from engine.latent.train import Progress, TrainConfig, augment_batch, train

configure_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").images[:600]


def small_model(seed=0, kind="dense"):
    torch.manual_seed(seed)
    return Autoencoder(AEConfig(kind=kind, input_shape=(1, 8, 8), code_size=4, hidden=32, channels=4))


def config(**kw):
    kw = {"epochs": 3, "batch_size": 64, "lr": 3e-3, "device": "cpu", "threads": 1, **kw}
    return TrainConfig(**kw)


def test_progress_reports_every_step_and_each_epoch(digits):
    reports: list[Progress] = []
    result = train(small_model(), digits, config(epochs=3), on_progress=reports.append)
    steps = [p for p in reports if p.val_mse is None]
    epoch_ends = [p for p in reports if p.val_mse is not None]
    n_train = len(result.train_index)
    per_epoch = n_train // 64
    assert [p.step for p in steps] == list(range(1, 3 * per_epoch + 1))
    assert all(p.steps_total == 3 * per_epoch and p.epochs == 3 for p in reports)
    assert [p.loss for p in steps] == result.losses
    assert [p.epoch for p in steps] == [e for e in (1, 2, 3) for _ in range(per_epoch)]
    assert [p.epoch for p in epoch_ends] == [1, 2, 3]
    assert [p.step for p in epoch_ends] == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    assert [p.val_mse for p in epoch_ends] == result.val_mse
    seconds = [p.seconds for p in reports]
    assert seconds == sorted(seconds)
    assert result.epochs_done == 3 and not result.stopped
    # each epoch-end report comes right after that epoch's last step
    for end in epoch_ends:
        assert reports[reports.index(end) - 1].step == end.step


def test_stop_flag_ends_training_early(digits):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 5

    result = train(small_model(), digits, config(epochs=50), should_stop=should_stop)
    assert result.stopped
    assert len(result.losses) == 5
    assert result.epochs_done == 0 and result.val_mse == []


def test_stop_flag_between_epochs_keeps_finished_epochs(digits):
    steps_per_epoch = int(len(digits) * 0.9) // 64
    calls = []
    result = train(small_model(), digits, config(epochs=50),
                   should_stop=lambda: calls.append(1) or len(calls) > 2 * steps_per_epoch)
    assert result.stopped and result.epochs_done == 2 and len(result.val_mse) == 2
    assert len(result.losses) == 2 * steps_per_epoch


def test_max_seconds_stops(digits):
    model = small_model()
    result = train(model, digits, config(epochs=10_000, batch_size=16, max_seconds=0.5))
    assert result.stopped
    assert result.seconds >= 0.5  # it ran for its budget (how much longer is bench/'s business, not a test's)
    assert 0 < result.epochs_done < 10_000
    assert not model.training  # handed back in eval mode, ready to encode


def test_same_seed_same_losses_different_seed_different(digits):
    a = train(small_model(seed=0), digits, config(seed=7))
    b = train(small_model(seed=0), digits, config(seed=7))
    c = train(small_model(seed=0), digits, config(seed=8))
    assert a.losses == b.losses and a.val_mse == b.val_mse
    np.testing.assert_array_equal(a.val_index, b.val_index)
    assert a.losses != c.losses
    assert not np.array_equal(a.val_index, c.val_index)


def test_stochastic_regularisers_are_reproducible_too(digits):
    """Noise, dropout and the VAE's sampling draw from torch's RNG, which train() seeds."""
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = Autoencoder(AEConfig(kind="vae", input_shape=(1, 8, 8), code_size=4, channels=4,
                                     noise_sigma=0.2, code_dropout=0.1))
        runs.append(train(model, digits, config(epochs=2, seed=3)).losses)
    assert runs[0] == runs[1]


def test_wrong_image_shape_is_refused(digits):
    model = small_model()
    with pytest.raises(ValueError, match=r"expects images of shape \(1, 8, 8\).*\(1, 28, 28\)"):
        train(model, np.zeros((10, 1, 28, 28), np.float32), config())
    with pytest.raises(ValueError, match="expects images of shape"):
        train(model, np.zeros((10, 3, 8, 8), np.float32), config())
    with pytest.raises(ValueError, match="No images"):
        train(model, np.zeros((0, 1, 8, 8), np.float32), config())


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "Epochs"),
    ({"epochs": 10_001}, "Epochs"),
    ({"batch_size": 0}, "Batch size"),
    ({"lr": 0}, "Learning rate"),
    ({"lr": -1e-3}, "Learning rate"),
    ({"lr": 100}, "Learning rate"),
    ({"val_fraction": 1.0}, "Validation fraction"),
    ({"val_fraction": -0.1}, "Validation fraction"),
])
def test_absurd_train_configs_raise(changes, message, digits):
    cfg = config(**changes)
    with pytest.raises(ValueError, match=message):
        cfg.validate()
    with pytest.raises(ValueError, match=message):  # train() checks before touching the model
        train(small_model(), digits, cfg)


@pytest.mark.parametrize("n, fraction", [(1797, 0.1), (100, 0.25), (10, 0.0), (7, 0.5), (1, 0.3), (3, 0.9), (10, 0.99)])
def test_split_indices_disjoint_and_covering(n, fraction):
    tr, va = split_indices(n, fraction, seed=0)
    assert len(np.intersect1d(tr, va)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])), np.arange(n))
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)
    assert len(tr) >= 1  # never an empty training set
    if n > 1 and fraction > 0:
        assert len(va) == min(round(n * fraction), n - 1)
    tr2, va2 = split_indices(n, fraction, seed=0)
    np.testing.assert_array_equal(va, va2)


def test_split_depends_on_seed():
    assert not np.array_equal(split_indices(500, 0.2, 0)[1], split_indices(500, 0.2, 1)[1])


def test_tiny_dataset_with_large_validation_share_still_trains(digits):
    """3 images and val_fraction 0.9 once left nothing to train on (division by zero)."""
    result = train(small_model(), digits[:3], config(epochs=2, val_fraction=0.9))
    assert len(result.train_index) == 1 and len(result.val_index) == 2
    assert len(result.losses) == 2 and len(result.val_mse) == 2


def test_augment_mirrors_some_faces_and_shifts_the_batch_by_at_most_a_pixel():
    x = torch.rand(64, 3, 6, 7)
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(torch.cat([x, x.flip(-1)]), (1, 1, 1, 1), mode="replicate")
    shifts = [(dy, dx) for dy in range(3) for dx in range(3)
              if all(torch.equal(out[i], padded[i, :, dy:dy + 6, dx:dx + 7]) or
                     torch.equal(out[i], padded[64 + i, :, dy:dy + 6, dx:dx + 7]) for i in range(64))]
    assert len(shifts) == 1  # one shift for the whole batch, every image itself or its mirror
    dy, dx = shifts[0]
    mirrored = [not torch.equal(out[i], padded[i, :, dy:dy + 6, dx:dx + 7]) for i in range(64)]
    assert 10 < sum(mirrored) < 54


def test_augmented_training_is_reproducible_and_learns(digits):
    a = train(small_model(), digits, config(augment=True))
    b = train(small_model(), digits, config(augment=True))
    assert a.losses == b.losses and a.val_mse[-1] < a.val_mse[0]
