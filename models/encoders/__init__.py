"""Frozen encoders: media in, a sequence of feature vectors out."""
