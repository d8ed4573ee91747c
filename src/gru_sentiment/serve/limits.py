"""What one request to the service may hold and take (`Limits`).

Kept apart from the code that enforces the limits (`guards`) and free of web imports:
the `serve` command reads its options' defaults and help from these fields when the
CLI starts, which should not load FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..inference.explain import MAX_TOKENS


def limit(default: float, text: str):
    """A field whose `text` becomes its `serve` option's help."""
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class Limits:
    """What one request may hold and take; the defaults fit any IMDB review (longest:
    13,704 chars), whose explanation takes seconds."""

    max_body_bytes: int = limit(1_000_000, "Largest request body, bytes (413 above).")
    max_texts: int = limit(64, "Most texts in one /predict request.")
    max_chars: int = limit(20_000, "Longest text, characters.")
    max_explain_tokens: int = limit(
        MAX_TOKENS, "Tokens /explain scores (the GRU's first); the others: null."
    )
    explain_seconds: float = limit(30.0, "Longest /explain, seconds (503 after).")
    body_seconds: float = limit(10.0, "For a request body to arrive, seconds (408 after).")
    # uvicorn has no limit on a request's headers: `guards.header_deadline` adds it.
    header_seconds: float = limit(
        10.0, "For a request's headers to arrive, seconds (closed after)."
    )
    keep_alive_seconds: float = limit(5.0, "An idle connection is closed after this, seconds.")
    # uvicorn answers 503, in plain text, beyond it.
    max_concurrency: int = limit(64, "Connections and requests at once (503 beyond).")

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of field `name`, for its command-line option."""
        return cls.__dataclass_fields__[name].metadata["help"]
