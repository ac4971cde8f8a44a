"""The autoencoder lab's experiments: the identity trap, filters on photo patches, codes as features,
unsupervised pretraining, the background caveat, and denoising (the lecture's "Expanding autoencoder" slides)."""
