#!/usr/bin/env bash
# Rebuild every shipped checkpoint and its precomputed maps. Deterministic given seed and CPU;
# each card (.json) records the exact command that made it. Run from the repository root.
set -euo pipefail
PY=${PY:-.venv/bin/python}
export LATENTLAB_THREADS=${LATENTLAB_THREADS:-1}
train() { "$PY" -m engine train "$@"; }
for code in 2 16 32; do
  train --dataset mnist --kind conv --code $code --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-conv-$code
  train --dataset mnist --kind vae --code $code --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-vae-$code
done
train --dataset mnist --kind linear --code 32 --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-linear-32
# Issue 15, the family side by side: a deep (dense), a sparse and a denoising autoencoder at code 16.
train --dataset mnist --kind dense --code 16 --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-dense-16
train --dataset mnist --kind conv --code 16 --sparse-l1 0.001 --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-sparse-16
train --dataset mnist --kind conv --code 16 --noise 0.3 --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-denoising-16
# The autoencoder lab's denoising slider: mnist-conv-32's twin trained on noisy inputs (σ = 0.3).
train --dataset mnist --kind conv --code 32 --noise 0.3 --epochs 40 --lr 0.002 --batch-size 64 --out checkpoints/mnist-conv-32-denoising
train --dataset faces --kind conv --code 16 --epochs 100 --lr 0.002 --batch-size 32 --out checkpoints/faces-conv-16
# Fashion-MNIST only where Debian's dataset-fashion-mnist is installed (70k images; the map covers 20k).
if [ -d /usr/share/datasets/fashion-mnist ]; then
  train --dataset fashion --kind conv --code 16 --epochs 6 --lr 0.002 --batch-size 128 --out checkpoints/fashion-conv-16
fi
train --dataset digits --kind conv --code 8 --epochs 60 --lr 0.002 --batch-size 64 --out checkpoints/digits-conv-8
# Issue 6, morphing and attribute vectors: LFW subset faces only (100 faces, 25×25), procedural faces (20k, 64×64 RGB),
# and then the attribute classifier that scores edits: trained on other procedural faces (seed 1) and on their
# reconstructions by procfaces-conv-32 and procfaces-vae-32, so it must come after those two.
# 90 training faces: mirrored and shifted batches (--augment), and input noise for the conv AE, keep them from overfitting.
lfw() { train --dataset faces --option faces_only=true --code 16 --lr 0.002 --batch-size 16 --augment "$@"; }
lfw --kind conv --noise 0.1 --epochs 300 --out checkpoints/lfw-conv-16
lfw --kind vae --epochs 300 --out checkpoints/lfw-vae-16
lfw --kind linear --epochs 1000 --out checkpoints/lfw-linear-16
train --dataset procfaces --kind conv --code 32 --epochs 12 --lr 0.002 --batch-size 64 --out checkpoints/procfaces-conv-32
train --dataset procfaces --kind vae --code 32 --epochs 16 --lr 0.002 --batch-size 64 --out checkpoints/procfaces-vae-32
train --dataset procfaces --kind linear --code 32 --epochs 40 --lr 0.001 --batch-size 64 --out checkpoints/procfaces-linear-32
"$PY" -m engine attribute-classifier --epochs 24 --out checkpoints/procfaces-attributes
# Issue 4, GANs: the digit classifier that scores generated digits, then the MNIST DCGAN (scored while it trains).
"$PY" -m engine gan-classifier --out checkpoints/mnist-classifier
"$PY" -m engine gan --data mnist --steps 10000 --eval-every 500 --out checkpoints/mnist-dcgan
# Issue 16, the autoencoder lab's shipped results (JSON cards; the filters also as safetensors). pretrain: ~80 min.
lab() { "$PY" -m engine.aelab.precompute "$@"; }
lab identity
lab filters
lab features --seeds 5 --datasets mnist,fashion,mnist-bg
lab pretrain --seeds 5 --settings mnist-naive,mnist-frozen,mnist-slow,naive,frozen,slow,plain,sparse,masking,all-60k
# Explorer maps for the autoencoders only: classifiers and GANs have no codes to project.
for ckpt in checkpoints/*.safetensors; do
  case "$ckpt" in *.map.safetensors) continue ;; esac
  grep -q '"format": "latentlab-autoencoder-1"' "${ckpt%.safetensors}.json" || continue
  "$PY" -m engine project "$ckpt" --methods pca,tsne,umap
done
# Issue 17, domain adaptation: DANN and its two bounds on MNIST → MNIST-M-like (the page opens on it).
"$PY" -m engine dann --pair mnist-m --epochs 15 --threads 1 --out checkpoints/mnist-m-dann
