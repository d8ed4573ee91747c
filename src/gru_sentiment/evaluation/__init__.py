"""Metrics and decision thresholds from labels and probabilities alone (any model)."""
