"""engine.latent.layout: t-SNE and UMAP maps fitted in a background job that shows the layout as it moves.

The promise to the user: the animated map ends exactly where the libraries' own non-animated fit ends (same
seed), the layout is published while it optimises, and Stop keeps the layout reached.
"""
import time

import numpy as np
import pytest
from openTSNE import TSNE
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA

from engine.jobs import wait_for
from engine.latent.layout import LayoutJob
from engine.latent.projection import ProjectionConfig, cached, project

pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value:UserWarning")  # umap, seeded on purpose
HANG_GUARD_S = 600  # a loaded CI machine is slow; this only stops a hung job from hanging the suite


@pytest.fixture(scope="module")
def blobs():
    codes, labels = make_blobs(400, n_features=6, centers=4, cluster_std=1.0, center_box=(-15, 15), random_state=0)
    return codes.astype(np.float32), labels


def finished(job: LayoutJob):
    snap = wait_for(job.start(), HANG_GUARD_S)
    assert snap.state == "done", snap
    return snap


def test_a_finished_tsne_job_ends_where_opentsne_alone_ends(blobs):
    config = ProjectionConfig("tsne", perplexity=10, seed=3)
    snap = finished(job := LayoutJob(blobs[0], config))
    alone = np.asarray(TSNE(perplexity=10, random_state=3, negative_gradient_method="bh", n_jobs=1).fit(blobs[0]))
    np.testing.assert_array_equal(job.output.coords, alone.astype(np.float32))
    assert job.output.stopped_at is None and snap.step == snap.steps_total == 750  # 250 exaggerated + 500 iterations
    assert snap.frames == 75  # a layout every 10 iterations
    assert cached(blobs[0], config) is job.output  # the page's next run finds it without fitting again


def test_a_finished_umap_job_ends_where_umap_alone_ends(blobs):
    import umap

    config = ProjectionConfig("umap", n_neighbors=8, seed=2)
    snap = finished(job := LayoutJob(blobs[0], config))
    alone = umap.UMAP(n_neighbors=8, n_epochs=200, min_dist=0.1, random_state=2, n_jobs=1).fit_transform(blobs[0])
    np.testing.assert_array_equal(job.output.coords, alone.astype(np.float32))
    assert snap.frames >= 50 and snap.step == snap.steps_total == 200
    assert job.output.inverse_kind == "umap"  # decoding anywhere still works on a map made in a job
    assert project(blobs[0], config) is job.output


def test_the_layout_moves_while_it_optimises(blobs):
    """Snapshots taken during the fit show the PCA start, then different layouts at increasing steps."""
    job = LayoutJob(np.tile(blobs[0], (5, 1)) + np.random.default_rng(0).normal(0, 0.1, (2000, 6)).astype(np.float32),
                    ProjectionConfig("tsne", perplexity=30, seed=0)).start()
    first = job.snapshot()
    seen = []
    deadline = time.monotonic() + HANG_GUARD_S
    while not job.snapshot().finished and time.monotonic() < deadline:
        snap = job.snapshot()
        if snap.frames and (not seen or snap.step > seen[-1].step):
            seen.append(snap)
        time.sleep(0.02)
    assert first.coords is not None and first.coords.shape == (2000, 2)  # something to draw from the start
    assert len(seen) >= 3, [s.step for s in seen]
    assert [s.step for s in seen] == sorted({s.step for s in seen})
    assert not np.allclose(seen[0].coords, seen[-1].coords)
    assert seen[0].phase == "early exaggeration" and seen[-1].phase == "optimisation"


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_stop_keeps_the_layout_reached(blobs, method):
    codes = np.tile(blobs[0], (10, 1)) + np.random.default_rng(1).normal(0, 0.1, (4000, 6)).astype(np.float32)
    job = LayoutJob(codes, ProjectionConfig(method, perplexity=30, n_neighbors=15)).start()
    deadline = time.monotonic() + HANG_GUARD_S
    while job.snapshot().frames < 2 and not job.snapshot().finished and time.monotonic() < deadline:
        time.sleep(0.01)
    job.stop()
    snap = wait_for(job, HANG_GUARD_S)
    assert snap.state == "stopped" and job.output.stopped_at == snap.step < snap.steps_total  # it did stop early
    np.testing.assert_array_equal(job.output.coords, snap.coords)  # the map kept is the one last shown
    assert job.output.coords.shape == (4000, 2) and np.isfinite(job.output.coords).all()
    assert cached(codes, job.config) is None  # a stopped layout is not served as the finished map


def test_before_the_first_frame_the_snapshot_shows_the_codes_pca(blobs):
    snap = LayoutJob(blobs[0], ProjectionConfig("umap", n_neighbors=8)).snapshot()  # not started: nothing fitted
    reference = PCA(2).fit(blobs[0]).transform(blobs[0])
    np.testing.assert_allclose(np.abs(snap.coords), np.abs(reference), rtol=1e-4, atol=1e-4)  # up to the axes' signs
    assert snap.frames == 0 and snap.phase == "neighbours"


def test_bad_parameters_are_refused_before_the_job_starts(blobs):
    with pytest.raises(ValueError, match="Perplexity"):
        LayoutJob(blobs[0][:31], ProjectionConfig("tsne", perplexity=30))
    with pytest.raises(ValueError, match="step by step"):
        LayoutJob(blobs[0], ProjectionConfig("pca"))
