"""Command line: `python -m engine train ...`, `python -m engine project ...`, `python -m engine list`,
`python -m engine gan ...`, `python -m engine gan-classifier ...`, `python -m engine attribute-classifier ...`,
`python -m engine dann ...`."""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m engine", description="Latent Lab engine")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train an autoencoder and write a checkpoint")
    t.add_argument("--dataset", default="mnist")
    t.add_argument("--limit", type=int, default=None, help="use at most this many images")
    t.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a dataset option, e.g. faces_only=true or seed=1 (repeatable)")
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
    t.add_argument("--augment", action="store_true", help="mirror and shift each batch (small face sets)")
    t.add_argument("--out", required=True, help="output path without suffix, e.g. checkpoints/mnist-conv-16")

    p = sub.add_parser("project", help="compute 2-D maps of a checkpoint's dataset codes and store them")
    p.add_argument("checkpoint")
    p.add_argument("--methods", default="pca,tsne,umap")
    p.add_argument("--points", type=int, default=20000, help="map the first N images (the explorer's default view)")
    p.add_argument("--perplexity", type=float, default=30.0)
    p.add_argument("--n-neighbors", type=int, default=15)
    p.add_argument("--min-dist", type=float, default=0.1)

    sub.add_parser("list", help="list checkpoints")

    g = sub.add_parser("gan", help="train a GAN (2-D points or DCGAN on images) and write a checkpoint")
    g.add_argument("--data", default="mnist", help="ring8, grid25, spiral, moons, square, mnist, digits, fashion, faces")
    g.add_argument("--steps", type=int, required=True, help="iterations (k_d D steps + m_g G steps each)")
    g.add_argument("--loss", default="nonsaturating", choices=["minimax", "nonsaturating", "lsgan", "wgan-gp", "hinge"])
    g.add_argument("--k-d", type=int, default=1)
    g.add_argument("--m-g", type=int, default=1)
    g.add_argument("--lr-d", type=float, default=None)
    g.add_argument("--lr-g", type=float, default=None)
    g.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--noise-dim", type=int, default=None)
    g.add_argument("--channels", type=int, default=32)
    g.add_argument("--width", type=int, default=128)
    g.add_argument("--depth", type=int, default=3)
    g.add_argument("--gp-weight", type=float, default=10.0)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default=None)
    g.add_argument("--threads", type=int, default=None)
    g.add_argument("--eval-every", type=int, default=100, help="MNIST: classifier score every N iterations")
    g.add_argument("--out", required=True, help="output path without suffix, e.g. checkpoints/mnist-dcgan")

    c = sub.add_parser("gan-classifier", help="train the MNIST digit classifier behind the GAN image score")
    c.add_argument("--epochs", type=int, default=10)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--out", required=True, help="output path without suffix, e.g. checkpoints/mnist-classifier")

    a = sub.add_parser("attribute-classifier", help="train the procedural-face attribute classifier that scores "
                       "attribute edits (after the procfaces autoencoders whose reconstructions it also learns from)")
    a.add_argument("--faces", type=int, default=10_000)
    a.add_argument("--data-seed", type=int, default=1, help="procfaces seed (1: not the autoencoders' faces)")
    a.add_argument("--reconstructions", default="procfaces-conv-32,procfaces-vae-32",
                   help="comma-separated shipped autoencoders whose Dec(Enc(x)) of the same faces are also "
                        "trained on, with the drawn faces' labels ('' for none)")
    a.add_argument("--epochs", type=int, default=24)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--threads", type=int, default=None)
    a.add_argument("--out", required=True, help="output path without suffix, e.g. checkpoints/procfaces-attributes")

    d = sub.add_parser("dann", help="train DANN and its two bounds (source only, train on target); write a checkpoint")
    d.add_argument("--pair", default="mnist-m", choices=["mnist-m", "digits"])
    d.add_argument("--epochs", type=int, default=None, help="default: the paper's (engine.dann.train.DANNConfig)")
    d.add_argument("--batch-size", type=int, default=None)
    d.add_argument("--lr", type=float, default=None)
    d.add_argument("--lambda-max", type=float, default=None)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threads", type=int, default=None)
    d.add_argument("--out", required=True, help="output path without suffix, e.g. checkpoints/mnist-m-dann")
    args = parser.parse_args(argv)
    return {"train": _train, "project": _project, "list": _list, "gan": _gan, "gan-classifier": _gan_classifier,
            "attribute-classifier": _attribute_classifier, "dann": _dann}[args.command](args, argv)


def _dann(args, argv) -> int:
    from engine.dann.checkpoint import save_experiment
    from engine.dann.domains import load_pair
    from engine.dann.live import Experiment
    from engine.dann.train import DANNConfig

    given = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "lambda_max") if getattr(args, k) is not None}
    config = DANNConfig(pair=args.pair, seed=args.seed, threads=args.threads, **given)
    exp = Experiment(config, load_pair(args.pair))
    seconds: dict[str, float] = {}
    while not exp.finished:
        stage, start = exp.snap.stage, time.perf_counter()
        exp.tick()
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start
        if exp.snap.stage != stage or exp.finished:
            print(f"{stage}: {exp.snap.results.get(stage)} in {seconds[stage]:.1f} s", flush=True)
    if exp.snap.state != "done":
        print(exp.snap.message)
        return 1
    command = "python -m engine " + " ".join(shlex.quote(a) for a in argv)
    path = save_experiment(exp, args.out, command, {k: round(v, 1) for k, v in seconds.items()})
    print(f"wrote {path}")
    return 0


def _train(args, argv) -> int:
    from engine.latent.checkpoints import Card, save_checkpoint
    from engine.data import load_dataset
    from engine.latent.evaluate import compare_with_pca
    from engine.latent.models import AEConfig, Autoencoder
    from engine.latent.train import TrainConfig

    options = {"limit": args.limit} if args.limit else {}
    options.update(_dataset_option(o) for o in args.option)
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
                         device=args.device, threads=args.threads, max_seconds=args.max_seconds,
                         augment=args.augment)
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


def _dataset_option(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON when it parses (true, 3, 0.5), else kept as a string."""
    import json

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"--option needs KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _project(args, argv) -> int:
    from engine.latent.checkpoints import load_checkpoint, save_maps
    from engine.data import load_dataset
    from engine.latent.projection import ProjectionConfig, fingerprint, knn_accuracy, project, trustworthiness

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
    from engine.latent.checkpoints import list_checkpoints

    for path, card in list_checkpoints():
        m = card.metrics
        print(f"{path.name:40s} {card.title:32s} test MSE {m.get('test_mse', float('nan')):.5f} "
              f"(PCA {m.get('pca_test_mse', float('nan')):.5f})")
    return 0


def _gan(args, argv) -> int:
    from engine.gan.digit_score import classifier_score
    from engine.gan.model import GANConfig
    from engine.gan.trainer import GANTrainer, train_until_score

    config = GANConfig(data=args.data, loss=args.loss, k_d=args.k_d, m_g=args.m_g, lr_d=args.lr_d, lr_g=args.lr_g,
                       optimizer=args.optimizer, batch_size=args.batch_size, noise_dim=args.noise_dim,
                       width=args.width, depth=args.depth, channels=args.channels, gp_weight=args.gp_weight,
                       seed=args.seed, device=args.device, threads=args.threads)
    trainer = GANTrainer(config)
    command = "python -m engine " + " ".join(shlex.quote(a) for a in argv)
    if args.data == "mnist":
        def report(snap, seconds, score):
            print(f"iteration {snap.iterations} {seconds:.0f}s loss_d {snap.loss_d[-1]:.3f} loss_g {snap.loss_g[-1]:.3f} "
                  f"confident {score['confident']:.2f} balance {score['balance']:.2f}", flush=True)

        result = train_until_score(trainer, args.steps, every=args.eval_every, samples=1000, report=report)
        score = classifier_score(trainer.generate(1000, seed=2))  # fresh samples, not those the run watched
        metrics = {**{k: v for k, v in result.items() if k != "score"}, "score_1000": score,
                   "minutes_to_pass": None if result["seconds_to_pass"] is None else round(result["seconds_to_pass"] / 60, 2)}
    else:
        start = time.perf_counter()
        for done in range(0, args.steps, 500):
            trainer.step("both", min(500, args.steps - done))
            snap = trainer.snapshot()
            print(f"iteration {snap.iterations} loss_d {snap.loss_d[-1]:.3f} loss_g {snap.loss_g[-1]:.3f} {snap.metric}",
                  flush=True)
        metrics = {**snap.metric, "seconds": round(time.perf_counter() - start, 1), "iterations": snap.iterations}
    snap = trainer.snapshot()
    if snap.state == "diverged":
        print("error:", snap.message, file=sys.stderr)
        return 1
    path = trainer.save(args.out, command=command, metrics=metrics)
    print(f"wrote {path}: {metrics}")
    return 0


def _gan_classifier(args, argv) -> int:
    from engine.data import load_dataset
    from engine.device import configure_threads
    from engine.gan.digit_score import save_classifier, train_classifier

    configure_threads(args.threads)
    data = load_dataset("mnist")
    for note in data.notes:
        print("note:", note)
    net, metrics = train_classifier(data.images, data.labels, epochs=args.epochs, seed=args.seed)
    card = {"data": "mnist", "dataset_source": data.source, "metrics": metrics, "seed": args.seed,
            "command": "python -m engine " + " ".join(shlex.quote(a) for a in argv)}
    path = save_classifier(net, args.out, card)
    print(f"wrote {path}: test accuracy {metrics['test_accuracy']:.3f} on {metrics['test_images']} held-out images")
    return 0


def _attribute_classifier(args, argv) -> int:
    import numpy as np

    from engine.checkpoints import CHECKPOINT_DIR
    from engine.data import procedural_faces
    from engine.data.procfaces import BINARY, attributes
    from engine.device import configure_threads
    from engine.faces.attributes import save_classifier, train_classifier
    from engine.latent.checkpoints import load_checkpoint

    configure_threads(args.threads)
    data = procedural_faces(args.faces, seed=args.data_seed)
    attrs = attributes(args.faces, seed=args.data_seed)
    labels = np.stack([attrs[k] for k in BINARY], 1)
    views, sources = {}, {}
    for name in filter(None, (n.strip() for n in args.reconstructions.split(","))):
        model, model_card = load_checkpoint(CHECKPOINT_DIR / f"{name}.safetensors")
        views[name] = np.clip(model.reconstruct(data.images), 0, 1)
        sources[name] = {"created": model_card.created, "command": model_card.command}
    net, metrics = train_classifier(data.images, labels, epochs=args.epochs, seed=args.seed, views=views)
    card = {"data": "procfaces" + "".join(f" + {name} reconstructions" for name in views),
            "dataset_options": {"limit": args.faces, "seed": args.data_seed},
            "dataset_source": data.source, "reconstructions": sources, "metrics": metrics, "seed": args.seed,
            "command": "python -m engine " + " ".join(shlex.quote(a) for a in argv)}
    path = save_classifier(net, args.out, card)
    print(f"wrote {path} in {metrics['seconds']} s: held-out accuracy on drawn faces {metrics['test_accuracy']}")
    for name, acc in metrics["test_accuracy_views"].items():
        print(f"  on {name} reconstructions {acc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
