"""Latent Lab's engine: PyTorch, numpy and scikit-learn models behind the pages, usable from a notebook.

One package per topic, each serving one page; shared leaves below them. Imports point downwards only.

    latent/   autoencoders, training, maps of the codes, retrieval, checkpoints   (explorer)
    words/    word vectors, analogies, vector files, corpora, word2vec            (word algebra)
    gan/      2-D and DCGAN training made visible                                (GANs, live)
    style/    fast style networks, Gatys optimisation, the style gallery          (style transfer)
    faces/    face crops, morphing, attribute vectors                            (morphing; uses latent/)
    dann/     domain adaptation: domains, gradient reversal, DANN and its bounds (domain adaptation)
    data/     the image datasets and the user's zips and folders
    imageio   decoding untrusted images and turning batches into pictures
    jobs      background jobs and the server's training slots
    classifier  the small CNN classifiers that score GAN digits and face attributes
    cache       one memory budget for user data
    checkpoints, device   safetensors cards; CPU/CUDA/MPS and threads
"""
