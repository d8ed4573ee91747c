"""gru-sentiment: GRU sentiment classification of movie reviews, end to end.

`from gru_sentiment import SentimentModel` applies a trained run folder to new text; it is
imported on first use, so `import gru_sentiment` (and the CLI's --help) stays light.
"""

__version__ = "0.1.0"
__all__ = ["SentimentModel", "__version__"]


def __getattr__(name: str):
    if name == "SentimentModel":
        from .inference.model import SentimentModel

        return SentimentModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
