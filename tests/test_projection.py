"""engine.latent.projection: map shapes, parameter checks, the cache, the ways back from a map to codes, map scores.

Data: 300 points in 4 well-separated Gaussian blobs in 6-D (seeded), so a good map must keep the blobs apart.
"""
import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA

from engine.latent.projection import (CACHE_SIZE, METHODS, ProjectionConfig, fingerprint, from_coords,
                                      from_shipped, interpolate_codes, knn_accuracy, project, trustworthiness)

N = 300
TSNE = ProjectionConfig("tsne", perplexity=10)
UMAP = ProjectionConfig("umap", n_neighbors=8)

pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value:UserWarning")  # umap, seeded on purpose


@pytest.fixture(scope="module")
def blobs():
    codes, labels = make_blobs(N, n_features=6, centers=4, cluster_std=1.0, center_box=(-15, 15), random_state=0)
    return codes.astype(np.float32), labels


@pytest.fixture(scope="module")
def umap_map(blobs):
    return project(blobs[0], UMAP)


@pytest.mark.parametrize("config", [ProjectionConfig("pca"), TSNE, UMAP], ids=lambda c: c.method)
def test_maps_are_n_by_2_and_keep_blobs_apart(blobs, config, umap_map):
    codes, labels = blobs
    proj = umap_map if config == UMAP else project(codes, config)
    assert proj.coords.shape == (N, 2) and proj.coords.dtype == np.float32
    assert np.all(np.isfinite(proj.coords))
    assert knn_accuracy(proj.coords, labels) > 0.95
    assert proj.seconds >= 0 and proj.config == config


@pytest.mark.parametrize("config", [ProjectionConfig("pca", dims=3), ProjectionConfig("tsne", perplexity=10, dims=3),
                                    ProjectionConfig("umap", n_neighbors=8, dims=3)], ids=lambda c: c.method)
def test_three_dimensional_maps(blobs, config, umap_map):
    proj = project(blobs[0], config)
    assert proj.coords.shape == (N, 3)
    assert np.all(np.isfinite(proj.coords))
    assert np.ptp(proj.coords[:, 2]) > 0  # the third axis is used, not padding


def test_code_method_needs_a_2d_code(blobs):
    codes2 = blobs[0][:, :2].copy()
    proj = project(codes2, ProjectionConfig("code"))
    np.testing.assert_array_equal(proj.coords, codes2)
    assert proj.inverse_kind == "exact"
    np.testing.assert_array_equal(proj.inverse(np.array([[1.5, -2.0]])), [[1.5, -2.0]])
    with pytest.raises(ValueError, match="needs a code of size 2; this one has 6"):
        project(blobs[0], ProjectionConfig("code"))
    with pytest.raises(ValueError, match="needs a code of size 3"):
        project(codes2, ProjectionConfig("code", dims=3))


@pytest.mark.parametrize("n, config, message", [
    (31, ProjectionConfig("tsne", perplexity=10), r"below \(N − 1\)/3 = 10.0 for 31 points"),
    (31, ProjectionConfig("tsne", perplexity=30), "Perplexity"),
    (100, ProjectionConfig("tsne", perplexity=0.5), "Perplexity must be at least 1"),
    (20, ProjectionConfig("umap", n_neighbors=20), "N − 1 = 19"),
    (20, ProjectionConfig("umap", n_neighbors=1), "n_neighbors"),
    (20, ProjectionConfig("umap", min_dist=2.0), "min_dist"),
    (3, ProjectionConfig("umap", n_neighbors=2), "UMAP needs at least 4 points for a 2-D map, got 3"),
    (4, ProjectionConfig("umap", n_neighbors=3, dims=3), "UMAP needs at least 5 points"),
    (2, ProjectionConfig("pca"), "at least 3 points, got 2"),
    (0, ProjectionConfig("pca"), "at least 3 points"),
    (50, ProjectionConfig("isomap"), "Unknown projection 'isomap'"),
    (50, ProjectionConfig("pca", dims=4), "2 or 3 dimensions"),
])
def test_bad_parameters_raise(blobs, n, config, message):
    with pytest.raises(ValueError, match=message):
        project(blobs[0][:n], config)


def test_valid_edge_parameters_pass_validation():
    ProjectionConfig("tsne", perplexity=9.9).validate(31, 6)
    ProjectionConfig("umap", n_neighbors=19).validate(20, 6)
    ProjectionConfig("pca").validate(3, 6)
    for method in METHODS:
        ProjectionConfig(method).validate(1000, 2)


@pytest.mark.parametrize("n, config", [
    (3, ProjectionConfig("pca")), (3, ProjectionConfig("pca", dims=3)), (5, ProjectionConfig("tsne", perplexity=1)),
    (4, ProjectionConfig("umap", n_neighbors=3)), (5, ProjectionConfig("umap", n_neighbors=4, dims=3)),
], ids=lambda v: getattr(v, "method", v))
def test_smallest_valid_maps_work(blobs, n, config, umap_map):
    """Whatever passes validation must really fit (the explorer only catches ValueError)."""
    coords = project(blobs[0][:n], config).coords
    assert coords.shape == (n, config.dims) and np.all(np.isfinite(coords))


def test_cache_returns_the_same_object(blobs):
    codes = blobs[0][:200]
    first = project(codes, TSNE)
    assert project(codes.copy(), TSNE) is first  # another array with the same content: not fitted again
    assert project(codes.astype(np.float64), TSNE) is first  # codes are keyed as float32
    assert project(codes, ProjectionConfig("tsne", perplexity=12)) is not first
    changed = codes.copy()
    changed[0, 0] += 1
    assert project(changed, TSNE) is not first
    assert fingerprint(codes) == fingerprint(codes.copy()) != fingerprint(changed)
    assert fingerprint(codes) != fingerprint(codes.reshape(100, 12))  # shape is part of the key


def test_cache_is_bounded(blobs):
    codes = blobs[0][:50]
    first = project(codes, ProjectionConfig("pca", seed=1000))
    later = [project(codes, ProjectionConfig("pca", seed=seed)) for seed in range(1001, 1001 + CACHE_SIZE)]
    assert project(codes, ProjectionConfig("pca", seed=1000)) is not first  # CACHE_SIZE maps later: evicted
    assert project(codes, ProjectionConfig("pca", seed=1000 + CACHE_SIZE)) is later[-1]  # the newest are kept


def test_pca_inverse_is_exact_for_2d_codes(blobs):
    codes2 = blobs[0][:, 2:4].copy()
    proj = project(codes2, ProjectionConfig("pca"))
    assert proj.inverse_kind == "exact"
    np.testing.assert_allclose(proj.inverse(proj.coords), codes2, atol=1e-4)


def test_pca_inverse_is_the_pca_reconstruction(blobs):
    codes = blobs[0]
    proj = project(codes, ProjectionConfig("pca"))
    pca = PCA(2, random_state=0).fit(codes)
    np.testing.assert_allclose(proj.inverse(proj.coords), pca.inverse_transform(pca.transform(codes)), atol=1e-4)
    shipped = from_coords(proj.coords, codes, ProjectionConfig("pca", seed=7))  # no fitted reducer: refits
    assert shipped.reducer is None and shipped.inverse_kind == "exact"
    np.testing.assert_allclose(shipped.inverse(proj.coords[:10]), proj.inverse(proj.coords[:10]), atol=1e-4)


def test_pca_map_of_a_1d_code_inverts(blobs):
    """Code size 1: the map pads a zero y axis, and clicking anywhere on it must still give a code."""
    codes1 = blobs[0][:, :1].copy()
    proj = project(codes1, ProjectionConfig("pca"))
    assert proj.coords.shape == (N, 2) and np.all(proj.coords[:, 1] == 0)
    np.testing.assert_allclose(proj.inverse(proj.coords), codes1, atol=1e-4)
    assert proj.inverse(np.array([[0.0, 3.0]])).shape == (1, 1)


def test_interpolated_inverse_returns_a_points_own_code(blobs):
    codes = blobs[0]
    proj = project(codes, TSNE)
    assert proj.inverse_kind == "interpolated"
    pick = [0, 17, 123, 299]
    np.testing.assert_allclose(proj.inverse(proj.coords[pick]), codes[pick], atol=1e-4)


def test_interpolation_weights_are_inverse_squared_distances():
    coords = np.array([[0, 0], [1, 0], [10, 10]], np.float32)
    codes = np.array([[0, 10], [1, 20], [100, 1000]], np.float32)
    # distances 0.25 and 0.75 → weights 16 : 16/9 → 0.9 : 0.1
    np.testing.assert_allclose(interpolate_codes(coords, codes, np.array([[0.25, 0]]), k=2), [[0.1, 11]], rtol=1e-5)
    # k larger than the map is capped; the far point barely counts but does count
    three = interpolate_codes(coords, codes, np.array([[0.5, 0]]), k=8)
    assert 0.5 < three[0, 0] < 0.6 and 15 < three[0, 1] < 16
    np.testing.assert_allclose(interpolate_codes(coords, codes, coords, k=3), codes, atol=1e-6)


def test_umap_inverse_and_shipped_map(blobs, umap_map):
    codes, labels = blobs
    assert umap_map.reducer is not None and umap_map.inverse_kind == "umap"
    pick = np.arange(0, N, 30)
    back = umap_map.inverse(umap_map.coords[pick])
    assert back.shape == (len(pick), 6) and back.dtype == np.float32
    centres = np.stack([codes[labels == c].mean(0) for c in range(4)])
    nearest_centre = np.argmin(((back[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest_centre == labels[pick]) >= 0.9  # back in the right blob
    shipped = from_coords(umap_map.coords, codes, ProjectionConfig("umap", n_neighbors=8, seed=5))
    assert shipped.reducer is None and shipped.inverse_kind == "interpolated"
    np.testing.assert_allclose(shipped.inverse(umap_map.coords[pick]), codes[pick], atol=1e-4)
    # from_coords seeds the cache: asking for that map again does not refit
    assert project(codes, ProjectionConfig("umap", n_neighbors=8, seed=5)) is shipped


def test_shipped_map_only_for_its_images_and_default_settings(blobs):
    codes = blobs[0][:120] + 100  # codes no other test maps: the shipped map seeds the cache
    images_fingerprint = "fe9fc93dacdfecc3"
    coords = PCA(2, random_state=0).fit_transform(codes).astype(np.float32)
    maps, info = {"pca": coords}, {"data_fingerprint": images_fingerprint}
    shipped = from_shipped(maps, info, codes, images_fingerprint, ProjectionConfig("pca"))
    np.testing.assert_array_equal(shipped.coords, coords)
    assert shipped.seconds == 0 and shipped.config == ProjectionConfig("pca") and shipped.inverse_kind == "exact"
    assert project(codes, ProjectionConfig("pca")) is shipped  # used as the map of these codes from now on
    for config in (ProjectionConfig("pca", seed=1), ProjectionConfig("pca", dims=3), ProjectionConfig("tsne")):
        assert from_shipped(maps, info, codes, images_fingerprint, config) is None  # other settings, other map
    assert from_shipped(maps, info, codes, "0123456789abcdef", ProjectionConfig("pca")) is None  # other images
    assert from_shipped({}, {}, codes, images_fingerprint, ProjectionConfig("pca")) is None  # no maps shipped


def test_knn_accuracy_high_on_blobs_chance_on_random_labels(blobs):
    codes, labels = blobs
    assert knn_accuracy(codes, labels) == 1.0
    random_labels = np.random.default_rng(0).integers(0, 4, N)
    assert abs(knn_accuracy(codes, random_labels) - 0.25) < 0.1


def test_trustworthiness(blobs):
    codes2 = blobs[0][:, :2].copy()
    coords = project(codes2, ProjectionConfig("pca")).coords  # a rotation of a 2-D code
    assert trustworthiness(codes2, coords) > 0.999
    scrambled = np.random.default_rng(0).permutation(coords)
    assert trustworthiness(codes2, scrambled) < 0.7
    # sub-sampling keeps the score and the speed
    big = np.random.default_rng(1).normal(size=(4000, 2)).astype(np.float32)
    assert trustworthiness(big, big @ np.array([[0, 1], [-1, 0]], np.float32), sample=500) > 0.999


def test_interpolate_hits_both_ends_and_the_midpoint():
    from engine.latent.paths import interpolate

    a, b = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    line = interpolate(a, b, 5)
    assert line.shape == (5, 2)
    np.testing.assert_allclose(line[0], a)
    np.testing.assert_allclose(line[-1], b)
    np.testing.assert_allclose(line[2], (a + b) / 2)


def test_grid_covers_the_map_with_a_margin():
    from engine.latent.paths import grid_over

    coords = np.array([[0.0, 0.0], [10.0, 5.0]])
    grid = grid_over(coords, 4)
    assert grid.shape == (16, 2)
    assert grid[:, 0].min() < 0 and grid[:, 0].max() > 10 and grid[:, 1].min() < 0 and grid[:, 1].max() > 5
    assert np.all(np.diff(grid[:4, 0]) > 0) and np.all(grid[:4, 1] == grid[0, 1])  # row by row
