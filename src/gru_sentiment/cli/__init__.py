"""The command line; `gru_sentiment.cli:app` is the `gru-sentiment` entry point."""

from .app import app

__all__ = ["app"]
