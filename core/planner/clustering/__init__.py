"""Offline keyword clustering: features, DP-means, the optional semantic mode, apply."""
