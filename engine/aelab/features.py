"""Codes as features (lecture: "learn some great features … before feeding data to your XGBoost"): scikit-learn's
LogisticRegression and HistGradientBoosting on raw pixels vs PCA vs an AE's code, with k labels per class.

The PCA and the AE learn from the unlabelled pool; only the classifiers see labels (k of every class, drawn
per seed by engine.aelab.labels.per_class). Test accuracy on held-out images, mean ± std over seeds.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from engine.aelab.data import Split
from engine.aelab.labels import ALL, describe_k, per_class

REPRESENTATIONS = {"pixels": "raw pixels", "pca": "PCA", "code": "AE code"}
CLASSIFIERS = {"logistic": "logistic regression", "boosting": "gradient boosting (HistGradientBoosting)"}


@dataclass
class FeatureConfig:
    unlabelled: int = 10_000  # pool images the PCA and the AE learn from
    test: int = 2_000
    code_size: int = 64  # the AE's code and PCA's components
    ae: str = "denoising"  # engine.aelab.pretrain.AE_KINDS
    ae_epochs: int = 3
    ks: tuple[int | None, ...] = (1, 10, 100, ALL)
    seeds: int = 3
    classifiers: tuple[str, ...] = ("logistic",)

    def validate(self) -> None:
        if not 1 <= self.code_size <= 1024:
            raise ValueError(f"Code size must be between 1 and 1024, got {self.code_size}.")
        if self.seeds < 1 or self.seeds > 20:
            raise ValueError("Seeds must be between 1 and 20.")
        if not self.ks:
            raise ValueError("Pick at least one number of labels per class.")
        if not self.classifiers or any(c not in CLASSIFIERS for c in self.classifiers):
            raise ValueError(f"Pick classifiers among {', '.join(CLASSIFIERS)}.")


def make_classifier(name: str, seed: int):
    """A scikit-learn pipeline: standardised features into logistic regression, or histogram gradient boosting."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    return HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=5, random_state=seed)


@dataclass
class Featurizer:
    """fit() learns PCA and the AE on unlabelled images; transform() gives every representation of some images."""

    config: FeatureConfig
    pca: object = None
    ae: object = None

    def fit(self, images: np.ndarray, on_progress=None, should_stop=None) -> Featurizer:
        from sklearn.decomposition import PCA

        from engine.aelab.pretrain import PretrainConfig, pretrain_ae

        flat = images.reshape(len(images), -1)
        self.pca = PCA(min(self.config.code_size, *flat.shape), random_state=0).fit(flat)
        ae_config = PretrainConfig(ae=self.config.ae, unlabelled=len(images), ae_epochs=self.config.ae_epochs,
                                   code_size=self.config.code_size)
        self.ae = pretrain_ae(images, ae_config, on_progress, should_stop)
        return self

    def transform(self, images: np.ndarray) -> dict[str, np.ndarray]:
        flat = images.reshape(len(images), -1)
        return {"pixels": flat, "pca": self.pca.transform(flat), "code": self.ae.encode(images)}


@dataclass
class FeatureRun:
    """accuracy[classifier][representation][k as text] = one test accuracy per seed."""

    config: dict
    accuracy: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: bool = False

    def mean_std(self, classifier: str, representation: str, k: str) -> tuple[float, float]:
        values = self.accuracy[classifier][representation][k]
        return float(np.mean(values)), float(np.std(values))


def check(split: Split, config: FeatureConfig) -> tuple:
    """(pool, test) cut to the config's sizes; ValueError with a message for settings or data that cannot run."""
    config.validate()
    pool, test = split.pool.subset(slice(0, config.unlabelled)), split.test.subset(slice(0, config.test))
    for k in config.ks:
        per_class(pool.labels, k, 0, pool.label_names)
    per_class(test.labels, ALL, 0, test.label_names)
    return pool, test


def run_features(split: Split, config: FeatureConfig, on_progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> FeatureRun:
    """Fit the featurizer on the pool, then every classifier × representation × k × seed (k = all: one seed,
    the subset is the same for every seed). NumPy's BLAS gets as many threads as torch (on 2 busy cores, its
    default spinning threads made one small logistic regression take 30 s instead of under 1)."""
    from threadpoolctl import threadpool_limits

    from engine.device import default_threads

    with threadpool_limits(default_threads()):
        return _run_features(split, config, on_progress, should_stop)


def _run_features(split: Split, config: FeatureConfig, on_progress, should_stop) -> FeatureRun:
    pool, test = check(split, config)
    report, stop = on_progress or (lambda f, t: None), should_stop or (lambda: False)
    start, run = time.perf_counter(), FeatureRun(asdict(config))

    def ae_progress(p):
        report(0.3 * p.step / max(1, p.steps_total), f"autoencoder epoch {p.epoch}/{p.epochs}")

    featurizer = Featurizer(config).fit(pool.images, ae_progress, stop)
    train_x, test_x = featurizer.transform(pool.images), featurizer.transform(test.images)
    jobs = [(c, r, k, s) for c in config.classifiers for k in config.ks for r in REPRESENTATIONS
            for s in range(1 if k is ALL else config.seeds)]
    for i, (c, r, k, s) in enumerate(jobs):
        if stop():
            run.stopped = True
            break
        index = per_class(pool.labels, k, s, pool.label_names)
        model = make_classifier(c, s).fit(train_x[r][index], pool.labels[index])
        accuracy = float(np.mean(model.predict(test_x[r]) == test.labels))
        run.accuracy.setdefault(c, {}).setdefault(r, {}).setdefault(describe_k(k), []).append(accuracy)
        report(0.3 + 0.7 * (i + 1) / len(jobs), f"{CLASSIFIERS[c]} on {REPRESENTATIONS[r]}, k = {describe_k(k)}")
    run.seconds = time.perf_counter() - start
    return run
