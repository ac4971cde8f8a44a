"""Autoencoders and their latent space: models, training, maps of the codes, retrieval, checkpoints."""
