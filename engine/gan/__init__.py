"""GANs to watch while they train, on 2-D points and DCGAN images.

    model        GANConfig and GAN: the data, G and D, their optimisers and steps (no threads)
    nets         the MLPs, the DCGAN and the five losses
    history      the training curves, block-averaged when long
    snapshot     what the page draws (GANSnapshot) and observe(), which computes it from a GAN
    checkpoint   GAN checkpoints and their cards; the shipped DCGAN
    trainer      GANTrainer: a GAN in the background on an engine.jobs.PausableLoop
    view         the 2-D picture, drawn on the server
    toy2d, digit_score   the 2-D point sets and mode metric; the MNIST classifier that scores generated digits
"""
