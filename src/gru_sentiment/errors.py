"""One family of errors the tool raises for things a user can fix; the CLI prints each
as one line (`gru-sentiment: error: ...`) and exits with status 2."""

import importlib


class GruSentimentError(Exception):
    """Base of every error whose message is meant for the user."""


class DataError(GruSentimentError):
    """Input data that cannot be used; the message says what is wrong and where."""


class RunError(GruSentimentError):
    """A run folder that is missing, incomplete, tampered with or of the wrong kind."""


class ConfigError(GruSentimentError, ValueError):
    """A configuration field out of range, unknown, or of the wrong type."""


def require(what: str, extra: str, *modules: str, error: type[GruSentimentError]) -> None:
    """Raise `error` naming the extra to install unless every module of `modules` imports:
    "WHAT needs the EXTRA extra (MODULE is missing): pip install -e '.[EXTRA]'"."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:  # err.name: the module missing, maybe one `name` needs
            raise error(
                f"{what} needs the {extra} extra ({err.name or name} is missing): "
                f"pip install -e '.[{extra}]'"
            ) from None
