"""Precompute the lab's shipped results (full curves, 5 seeds, the pretraining table) into checkpoints/aelab-*.json.

    python -m engine.aelab.precompute identity      # section 1 on MNIST at the page's default settings
    python -m engine.aelab.precompute filters       # section 2: the four filter sets (safetensors beside the card)
    python -m engine.aelab.precompute features      # sections 3 and 5: MNIST, Fashion-MNIST, MNIST on photo
                                                    # backgrounds; 5 seeds, both classifiers
    python -m engine.aelab.precompute pretrain      # section 4: the pretraining table and curves (long: tens of minutes)

Each file is a JSON card: the command that made it, when, on what machine, and the numbers. Results are written
after every setting, so a long run that is stopped keeps what it finished.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from engine.checkpoints import CHECKPOINT_DIR, jsonable
from engine.device import configure_threads

CURVE_KS = (1, 5, 10, 100)


def card(command: str) -> dict:
    return {"command": command, "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {configure_threads()} torch thread(s)",
            "load_at_start": os.getloadavg()[0]}


def write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, default=jsonable) + "\n")


def pretrain_table(out: Path, seeds: int, names: list[str], command: str) -> None:
    """Every setting at 10 labels per class, then the curves over CURVE_KS for the naive and the best setting."""
    from engine.aelab import pretrain as pt
    from engine.aelab.data import load_split

    data = {**card(command), "seeds": seeds,
            "settings": {}, "curves": {}}
    splits, aes, scratch = {}, {}, {}
    for name in names:
        dataset, config = pt.SETTINGS[name]
        split = splits.setdefault(dataset, load_split(dataset, max_test=10_000))
        ae_key = (dataset, config.ae, config.unlabelled, config.ae_epochs, config.channels, config.code_size)
        if ae_key not in aes:
            start = time.perf_counter()
            aes[ae_key] = (pt.pretrain_ae(split.pool.images, config), time.perf_counter() - start)
        ae, ae_seconds = aes[ae_key]
        scratch_key = (dataset, config.channels, config.code_size, config.steps, config.lr, config.batch_size)
        result = pt.run(split, config, (10,), seeds, scratch.get(scratch_key), ae=ae)
        scratch[scratch_key] = result.scratch
        result.ae_seconds = ae_seconds
        data["settings"][name] = {"dataset": dataset, "describe": pt.describe(config), **result.to_dict()}
        print(f"{name}: pretrained {np.mean(result.pretrained[10]):.3f} scratch {np.mean(result.scratch[10]):.3f} "
              f"gain {result.gain(10):+.3f} ({result.seconds:.0f} s + AE {ae_seconds:.0f} s)", flush=True)
        write(out, data)
    best = max(data["settings"], key=lambda n: np.mean(data["settings"][n]["pretrained"][10])
               - np.mean(data["settings"][n]["scratch"][10]))
    for name in dict.fromkeys([names[0], best]):
        dataset, config = pt.SETTINGS[name]
        ae_key = (dataset, config.ae, config.unlabelled, config.ae_epochs, config.channels, config.code_size)
        result = pt.run(splits[dataset], config, CURVE_KS, seeds, ae=aes[ae_key][0])
        data["curves"][name] = {"dataset": dataset, "describe": pt.describe(config), **result.to_dict()}
        print(f"curve {name}: " + ", ".join(f"k={k} {result.gain(k):+.3f}" for k in CURVE_KS), flush=True)
        write(out, data)
    data["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    write(out, data)


def identity(out: Path, command: str) -> None:
    """Section 1 at the page's defaults on MNIST: the four scores."""
    from engine.aelab.data import load_split
    from engine.aelab.identity import IdentityConfig, run_identity

    split, config = load_split("mnist"), IdentityConfig()
    run = run_identity(config, split.pool.images[:2000], split.test.images[:500])
    write(out, {**card(command), "dataset": "mnist", "train_images": 2000,
                "test_images": 500, "config": asdict(config), "scores": {k: asdict(v) for k, v in run.scores.items()}})


def filters(out: Path, command: str) -> None:
    """Section 2 at a larger size than the page's default: 10 000 patches, 20 epochs."""
    from safetensors.numpy import save_file

    from engine.aelab.filters import FilterConfig, run_filters

    config = FilterConfig(patches=10_000, epochs=20)
    run = run_filters(config)
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in run.filters.items()},
              str(out.with_suffix(".safetensors")))
    write(out, {**card(command), "config": asdict(config),
                "localisation": run.localisation, "seconds": run.seconds})


FEATURE_POOLS = {"mnist": 4000, "fashion": 10_000, "mnist-bg": 4000}  # unlabelled images per dataset


def features(out: Path, seeds: int, names: list[str], command: str) -> None:
    """Section 3 on MNIST (its 4 000-image offline pool), Fashion-MNIST (10 000 of its pool) and section 5's MNIST on
    photo backgrounds, both classifiers. Runs of datasets not named stay in the card as they were; each run records
    the command and machine that made it."""
    from engine.aelab.caveat import split_on_backgrounds
    from engine.aelab.data import load_split
    from engine.aelab.features import FeatureConfig, run_features

    old = json.loads(out.read_text()) if out.exists() else {}
    data = {**card(command), "runs": old.get("runs", {})}
    for name in names:
        config = FeatureConfig(unlabelled=FEATURE_POOLS[name], test=10_000, seeds=seeds, ae_epochs=5,
                               classifiers=("logistic", "boosting"))
        split = load_split(name.removesuffix("-bg"), max_test=10_000)
        if name == "mnist-bg":
            split = split_on_backgrounds(split)
        run = run_features(split, config)
        data["runs"][name] = {**asdict(run), "made": card(command)}
        print(f"features {name}: {run.seconds:.0f} s", flush=True)
        write(out, data)


def main(argv: list[str] | None = None) -> None:
    from engine.aelab import pretrain as pt

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["identity", "filters", "features", "pretrain"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--settings", default=",".join(pt.SETTINGS), help="comma-separated names of SETTINGS")
    parser.add_argument("--datasets", default=",".join(FEATURE_POOLS), help="features: comma-separated datasets")
    parser.add_argument("--out-dir", type=Path, default=CHECKPOINT_DIR)
    args = parser.parse_args(argv)
    command = "python -m engine.aelab.precompute " + " ".join(sys.argv[1:] if argv is None else argv)
    configure_threads()
    if args.what == "identity":
        identity(args.out_dir / "aelab-identity.json", command)
    elif args.what == "filters":
        filters(args.out_dir / "aelab-filters.json", command)
    elif args.what == "features":
        features(args.out_dir / "aelab-features.json", args.seeds, args.datasets.split(","), command)
    elif args.what == "pretrain":
        pretrain_table(args.out_dir / "aelab-pretrain.json", args.seeds, args.settings.split(","), command)


if __name__ == "__main__":
    main()
