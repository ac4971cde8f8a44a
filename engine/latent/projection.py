"""Project codes to 2-D/3-D maps (PCA, t-SNE, UMAP), invert a map back to codes, and score a map.

Results are cached in-process by (hash of the codes, method, parameters).
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

METHODS = {
    "pca": "PCA (linear, exact inverse)",
    "tsne": "t-SNE (openTSNE)",
    "umap": "UMAP (umap-learn)",
    "code": "The code itself (code size 2)",
}


@dataclass(frozen=True)
class ProjectionConfig:
    method: str = "umap"
    dims: int = 2
    perplexity: float = 30.0  # t-SNE: effective number of neighbours
    n_neighbors: int = 15  # UMAP: local neighbourhood size
    min_dist: float = 0.1  # UMAP: how tightly points may pack
    seed: int = 0

    def validate(self, n_points: int, code_size: int) -> None:
        """Raise ValueError with a user-facing message for parameters that cannot work on n points."""
        if self.method not in METHODS:
            raise ValueError(f"Unknown projection {self.method!r}; choose one of {', '.join(METHODS)}.")
        if self.dims not in (2, 3):
            raise ValueError("Maps have 2 or 3 dimensions.")
        if n_points < 3:
            raise ValueError(f"A map needs at least 3 points, got {n_points}.")
        if self.method == "code" and code_size != self.dims:
            raise ValueError(f"'The code itself' needs a code of size {self.dims}; this one has {code_size}.")
        if self.method == "tsne" and not 1 <= self.perplexity < (n_points - 1) / 3:
            raise ValueError(
                f"Perplexity must be at least 1 and below (N − 1)/3 = {(n_points - 1) / 3:.1f} for {n_points} points."
            )
        if self.method == "umap" and n_points < self.dims + 2:  # its spectral start needs dims + 1 < N
            raise ValueError(f"UMAP needs at least {self.dims + 2} points for a {self.dims}-D map, got {n_points}.")
        if self.method == "umap" and not 2 <= self.n_neighbors < n_points:
            raise ValueError(f"UMAP's n_neighbors must be between 2 and N − 1 = {n_points - 1}.")
        if self.method == "umap" and not 0 <= self.min_dist <= 1:
            raise ValueError("UMAP's min_dist must be in [0, 1].")


@dataclass
class Projection:
    """A fitted map: coordinates of every code, and the means to go back from the map to a code."""

    coords: np.ndarray
    config: ProjectionConfig
    seconds: float
    codes: np.ndarray
    reducer: object | None = None  # fitted PCA or UMAP object; None for t-SNE and shipped maps
    stopped_at: int | None = None  # a t-SNE/UMAP layout stopped by the user: the iteration or epoch it reached

    @property
    def inverse_kind(self) -> str:
        """How `inverse` maps points back: 'exact', 'umap' or 'interpolated'."""
        if self.config.method in ("pca", "code"):
            return "exact"
        return "umap" if self.config.method == "umap" and self.reducer is not None else "interpolated"

    def inverse(self, points: np.ndarray, k: int = 8) -> np.ndarray:
        """Codes for arbitrary map positions: exact for PCA/code, UMAP's inverse_transform, else
        inverse-distance weighting of the k nearest points' codes."""
        points = np.atleast_2d(np.asarray(points, np.float64))
        if self.config.method == "code":
            return points.astype(np.float32)
        if self.config.method == "pca":
            pca = self.reducer or _fit_pca(self.codes, self.config.dims)
            return pca.inverse_transform(points[:, : pca.n_components_]).astype(np.float32)  # drop 1-D padding
        if self.inverse_kind == "umap":
            return np.asarray(self.reducer.inverse_transform(points), np.float32)
        return interpolate_codes(self.coords, self.codes, points, k)


def interpolate_codes(coords: np.ndarray, codes: np.ndarray, points: np.ndarray, k: int = 8) -> np.ndarray:
    """Σ w_i·code_i over the k nearest map points, w_i ∝ 1/distance² (Shepard interpolation)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(coords))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(coords).kneighbors(points)
    weights = 1.0 / np.maximum(dist, 1e-9) ** 2
    weights /= weights.sum(1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, codes[idx]).astype(np.float32)


def _fit_pca(codes: np.ndarray, dims: int):
    from sklearn.decomposition import PCA

    return PCA(n_components=min(dims, codes.shape[1]), random_state=0).fit(codes)


UMAP_EPOCHS = 200
_CACHE: OrderedDict = OrderedDict()
CACHE_SIZE = 24  # fitted maps kept by project(), least recently used dropped first


def fingerprint(array: np.ndarray) -> str:
    """A short content hash used as cache key and to match shipped maps with the data they were made from."""
    a = np.ascontiguousarray(array)
    return hashlib.sha1(a.tobytes() + str(a.shape).encode()).hexdigest()[:16]


def project(codes: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> Projection:
    """Fit the map (or return the cached one for the same codes and parameters)."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    config.validate(len(codes), codes.shape[1])
    key = (fingerprint(codes), config)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    start, reducer = time.perf_counter(), None
    if config.method == "code":
        coords = codes.copy()
    elif config.method == "pca":
        reducer = _fit_pca(codes, config.dims)
        coords = reducer.transform(codes)
        if coords.shape[1] < config.dims:  # a 1-D code: pad so the map still has two axes
            coords = np.pad(coords, ((0, 0), (0, config.dims - coords.shape[1])))
    elif config.method == "tsne":
        coords = fit_tsne(codes, config)
    else:
        coords, reducer = fit_umap(codes, config)
    return remember(Projection(np.asarray(coords, np.float32), config, time.perf_counter() - start, codes, reducer))


def cached(codes: np.ndarray, config: ProjectionConfig) -> Projection | None:
    """The map project() would return at once for these codes and parameters, or None when it would fit one."""
    return _CACHE.get((fingerprint(np.ascontiguousarray(codes, dtype=np.float32)), config))


def remember(result: Projection) -> Projection:
    """Keep a fitted map in the cache project() reads (least recently used dropped first); returns it."""
    _CACHE[(fingerprint(result.codes), result.config)] = result
    _CACHE.move_to_end((fingerprint(result.codes), result.config))
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def fit_tsne(codes: np.ndarray, config: ProjectionConfig, **watch) -> np.ndarray:
    """openTSNE: Barnes-Hut below 10k points, FFT-interpolation above (bench/explorer.py measures both).
    watch: openTSNE's callbacks and callbacks_every_iters (they read the layout; the result is the same)."""
    from openTSNE import TSNE

    method = "bh" if len(codes) < 10_000 else "fft"
    tsne = TSNE(n_components=config.dims, perplexity=config.perplexity, random_state=config.seed,
                negative_gradient_method=method if config.dims == 2 else "bh", n_jobs=1, verbose=False, **watch)
    return np.asarray(tsne.fit(codes))


def fit_umap(codes: np.ndarray, config: ProjectionConfig):
    """umap-learn's layout and the fitted reducer (for its inverse_transform)."""
    import umap

    # UMAP_EPOCHS (UMAP's own choice above 10k points) at every size: on 5k MNIST codes 2.3× faster than the 500
    # it uses below 10k, with the same 10-NN accuracy and trustworthiness (bench/explorer.py)
    reducer = umap.UMAP(n_components=config.dims, n_neighbors=config.n_neighbors, n_epochs=UMAP_EPOCHS,
                        min_dist=config.min_dist, random_state=config.seed, n_jobs=1)
    return reducer.fit_transform(codes), reducer


def pca_start(codes: np.ndarray, dims: int) -> np.ndarray:
    """The codes' PCA (padded to `dims` axes): what a map shows before its optimisation has a layout."""
    coords = _fit_pca(codes, dims).transform(codes)
    return np.pad(coords, ((0, 0), (0, dims - coords.shape[1]))).astype(np.float32)


def from_coords(coords: np.ndarray, codes: np.ndarray, config: ProjectionConfig) -> Projection:
    """Wrap precomputed (shipped) coordinates as a Projection and seed the cache with it."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    return remember(Projection(np.asarray(coords, np.float32), config, 0.0, codes))


def from_shipped(maps: dict[str, np.ndarray], info: dict, codes: np.ndarray, images_fingerprint: str,
                 config: ProjectionConfig) -> Projection | None:
    """A checkpoint's precomputed map (maps, info as engine.latent.checkpoints.load_maps returns them) as a
    Projection of `codes`, when there is one for config: its method with default parameters, made from exactly
    the images whose fingerprint is given; else None (the map has to be computed)."""
    if config != ProjectionConfig(method=config.method) or config.method not in maps:
        return None
    if info.get("data_fingerprint") != images_fingerprint:
        return None
    return from_coords(maps[config.method], codes, config)


def knn_accuracy(coords: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Leave-one-out k-NN label accuracy in the map: how well classes stay together."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(coords) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords)
    votes = labels[idx[:, 1:]]
    predicted = np.array([np.bincount(v).argmax() for v in votes])
    return float(np.mean(predicted == labels))


def trustworthiness(codes: np.ndarray, coords: np.ndarray, k: int = 10, sample: int = 3000, seed: int = 0) -> float:
    """sklearn's trustworthiness (1 = map neighbours are true neighbours), on a random sample for speed."""
    from sklearn.manifold import trustworthiness as tw

    if len(codes) > sample:
        pick = np.random.default_rng(seed).choice(len(codes), sample, replace=False)
        codes, coords = codes[pick], coords[pick]
    return float(tw(codes, coords, n_neighbors=min(k, (len(codes) - 1) // 2)))


def warm_up() -> None:
    """Fit a tiny UMAP once so numba compiles now (10–30 s) rather than on the user's first UMAP map."""
    import umap

    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 8)).astype(np.float32)
    # force the NN-descent path that real maps (> 4 096 points) take, so its code is compiled too
    umap.UMAP(n_neighbors=10, random_state=0, n_jobs=1, force_approximation_algorithm=True).fit_transform(data)
