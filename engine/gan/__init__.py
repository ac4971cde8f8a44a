"""GANs to watch while they train: 2-D points and DCGAN images, five losses, the live trainer and its picture."""
