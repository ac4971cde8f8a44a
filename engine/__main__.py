"""Command line: `python -m engine train ...`, `python -m engine project ...`, `python -m engine list`."""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m engine", description="Latent Lab engine")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train an autoencoder and write a checkpoint")
    t.add_argument("--dataset", default="mnist")
    t.add_argument("--limit", type=int, default=None, help="use at most this many images")
    t.add_argument("--kind", default="conv", choices=["linear", "dense", "conv", "vae"])
    t.add_argument("--code", type=int, default=16, help="code size")
    t.add_argument("--channels", type=int, default=16)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--sparse-l1", type=float, default=0.0)
    t.add_argument("--noise", type=float, default=0.0, help="denoising: input noise sigma")
    t.add_argument("--input-dropout", type=float, default=0.0)
    t.add_argument("--code-dropout", type=float, default=0.0)
    t.add_argument("--kl-weight", type=float, default=1.0)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--max-seconds", type=float, default=None)
    t.add_argument("--out", required=True, help="output path without suffix, e.g. checkpoints/mnist-conv-16")

    p = sub.add_parser("project", help="compute 2-D maps of a checkpoint's dataset codes and store them")
    p.add_argument("checkpoint")
    p.add_argument("--methods", default="pca,tsne,umap")
    p.add_argument("--points", type=int, default=20000, help="map the first N images (the explorer's default view)")
    p.add_argument("--perplexity", type=float, default=30.0)
    p.add_argument("--n-neighbors", type=int, default=15)
    p.add_argument("--min-dist", type=float, default=0.1)

    sub.add_parser("list", help="list checkpoints")
    args = parser.parse_args(argv)
    return {"train": _train, "project": _project, "list": _list}[args.command](args, argv)


def _train(args, argv) -> int:
    from engine.checkpoints import Card, save_checkpoint
    from engine.data import load_dataset
    from engine.evaluate import compare_with_pca
    from engine.models import AEConfig, Autoencoder
    from engine.train import TrainConfig

    options = {"limit": args.limit} if args.limit else {}
    data = load_dataset(args.dataset, **options)
    for note in data.notes:
        print("note:", note)
    import torch

    torch.manual_seed(args.seed)  # the initial weights too, so the card's command rebuilds the same checkpoint
    model = Autoencoder(AEConfig(
        kind=args.kind, input_shape=data.image_shape, code_size=args.code, hidden=args.hidden,
        channels=args.channels, sparse_l1=args.sparse_l1, noise_sigma=args.noise,
        input_dropout=args.input_dropout, code_dropout=args.code_dropout, kl_weight=args.kl_weight))
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         device=args.device, threads=args.threads, max_seconds=args.max_seconds)
    last = [0.0]

    def report(p):
        if p.val_mse is not None or time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            val = f" val_mse {p.val_mse:.5f}" if p.val_mse is not None else ""
            print(f"epoch {p.epoch}/{p.epochs} step {p.step}/{p.steps_total} loss {p.loss:.5f}{val} {p.seconds:.1f}s", flush=True)

    result = model.fit(data.images, config, on_progress=report)
    metrics = compare_with_pca(model.cpu(), data.images, result.train_index, result.val_index)
    metrics.update(train_seconds=round(result.seconds, 1), epochs_done=result.epochs_done, images=len(data))
    card = Card(name=Path(args.out).name, dataset=args.dataset, dataset_options=options, dataset_source=data.source,
                model={}, train=config.to_dict(), metrics=metrics,
                command="python -m engine " + " ".join(shlex.quote(a) for a in argv))
    path = save_checkpoint(model, card, args.out)
    print(f"wrote {path}: test MSE {metrics['test_mse']:.5f} vs PCA {metrics['pca_test_mse']:.5f} "
          f"(ratio {metrics['mse_ratio_vs_pca']:.2f}) in {result.seconds:.1f}s")
    return 0


def _project(args, argv) -> int:
    from engine.checkpoints import load_checkpoint, save_maps
    from engine.data import load_dataset
    from engine.projection import ProjectionConfig, fingerprint, knn_accuracy, project, trustworthiness

    model, card = load_checkpoint(args.checkpoint)
    data = load_dataset(card.dataset, **card.dataset_options)
    codes = model.encode(data.images[: args.points])
    # the map belongs to these images under this checkpoint (codes differ in the last bits across CPUs)
    maps, info = {}, {"data_fingerprint": fingerprint(data.images[: args.points]), "points": len(codes), "methods": {}}
    methods = [m for m in args.methods.split(",") if m]
    if codes.shape[1] == 2 and "code" not in methods:
        methods.insert(0, "code")
    for method in methods:
        config = ProjectionConfig(method=method, perplexity=args.perplexity, n_neighbors=args.n_neighbors,
                                  min_dist=args.min_dist)
        proj = project(codes, config)
        maps[method] = proj.coords
        scores = {"config": config.__dict__, "seconds": round(proj.seconds, 2),
                  "trustworthiness": trustworthiness(codes, proj.coords)}
        if data.labels is not None:
            scores["knn_accuracy"] = knn_accuracy(proj.coords, data.labels[: args.points])
        info["methods"][method] = scores
        print(method, {k: v for k, v in scores.items() if k != "config"}, flush=True)
    path = save_maps(args.checkpoint, maps, info)
    print(f"wrote {path}")
    return 0


def _list(args, argv) -> int:
    from engine.checkpoints import list_checkpoints

    for path, card in list_checkpoints():
        m = card.metrics
        print(f"{path.name:40s} {card.title:32s} test MSE {m.get('test_mse', float('nan')):.5f} "
              f"(PCA {m.get('pca_test_mse', float('nan')):.5f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
