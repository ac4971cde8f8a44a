"""Domain adaptation (DANN, Ganin & Lempitsky, arXiv 1409.7495): read digits of a domain never seen with labels.

    domains      the source/target pairs: MNIST → MNIST-M-like (digits on photo crops), MNIST → 8×8 digits, your zip
    model        the gradient reversal layer and the paper's MNIST network (features h, label and domain heads)
    train        DANNConfig, the paper's λ and learning-rate schedules, one run step by step (no threads)
    live         DANNTrainer: a run and its two bounds in the background on an engine.jobs.PausableLoop
    checkpoint   DANN checkpoints and their cards; the shipped MNIST → MNIST-M-like run
"""
