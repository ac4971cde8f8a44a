"""Style transfer: the fast feed-forward networks, Gatys optimisation with its backbones, and the style gallery."""
