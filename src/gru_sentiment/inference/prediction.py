"""The verdict on one text, as predict, serve, explain and the portable scorer give it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Prediction:
    """The verdict on one text; `label` and the probabilities are None when `error` says
    why."""

    label: str | None  # one of the run's classes: at its decision threshold for two
    # Two classes: P(second class) ("positive"), as always; more: P(label).
    probability: float | None
    truncated: bool  # longer than the model's max_len: only part of it was read
    tokens: int  # token ids before truncation, start token included
    error: str | None = None
    probabilities: dict[str, float] | None = None  # P(class) of every class

    def to_dict(self) -> dict:
        return asdict(self)
