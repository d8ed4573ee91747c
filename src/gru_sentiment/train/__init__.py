"""Producing run folders: the training pipeline as named steps, the linear baseline and
the tutorial's experiments."""
