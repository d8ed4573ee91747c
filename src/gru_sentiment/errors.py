"""One family of errors the tool raises for things a user can fix; the CLI prints each
as one line (`gru-sentiment: error: ...`) and exits with status 2."""


class GruSentimentError(Exception):
    """Base of every error whose message is meant for the user."""


class DataError(GruSentimentError):
    """Input data that cannot be used; the message says what is wrong and where."""


class RunError(GruSentimentError):
    """A run folder that is missing, incomplete, tampered with or of the wrong kind."""


class ConfigError(GruSentimentError, ValueError):
    """A configuration field out of range, unknown, or of the wrong type."""
