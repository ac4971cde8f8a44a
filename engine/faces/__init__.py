"""Faces: finding and cropping them in photos, morphing between two, and attribute vectors with their classifier."""
