"""gru-sentiment: GRU sentiment classification of movie reviews, end to end."""

__version__ = "0.1.0"
