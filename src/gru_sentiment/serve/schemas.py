"""The service's request and answer bodies, and its documented error answers.

Their fields' descriptions are the API's documentation at /docs and /openapi.json.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..config import KEEP

Long = Literal[KEEP]  # Literal["head", "tail", "head+tail"]


class PredictRequest(BaseModel):
    text: str | None = Field(None, description="One review (or use `texts`).")
    texts: list[str] | None = Field(None, description="Several reviews, predicted in order.")
    long: Long | None = Field(None, description="Part of a long review read; default: the run's.")


class PredictionOut(BaseModel):
    label: str | None = Field(
        description="The predicted class, one of /health's `classes` (two classes: at the "
        "run's decision `threshold` on P(positive); more: the most probable); null when "
        "`error` is set"
    )
    probability: float | None = Field(
        description="Two classes: P(positive), the second class (whatever the label); more "
        "than two: P(label), the predicted class's. Null when `error` is set"
    )
    truncated: bool = Field(description="Longer than the model's max_len: only part was read")
    tokens: int = Field(description="Token ids before truncation, start token included")
    error: str | None = Field(None, description="Why this text was not predicted")
    probabilities: dict[str, float] | None = Field(
        None,
        description="P(class) for every class of the run, in /health's `classes` order "
        "(two classes too); null when `error` is set",
    )


class PredictResponse(BaseModel):
    predictions: list[PredictionOut]


class Problem(BaseModel):
    error: str
    limit: str | None = Field(None, description="The limit hit: a field of /health's limits")
    max: float | None = Field(None, description="Its value")


class ErrorOut(BaseModel):
    detail: Problem | list[dict] | str = Field(
        description="The problem; FastAPI's validation errors; or its message for a 400"
    )


ERRORS = {
    400: {"model": ErrorOut, "description": "The body is not UTF-8"},
    408: {"model": ErrorOut, "description": "The body did not arrive within body_seconds"},
    413: {"model": ErrorOut, "description": "The body is larger than max_body_bytes"},
    422: {"model": ErrorOut, "description": "Not a valid request, or over a limit"},
}
# uvicorn answers past max_concurrency, in plain text; /explain past explain_seconds.
BUSY = {
    503: {
        "model": ErrorOut,
        "description": "Too busy: over max_concurrency, or explain_seconds",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


class ExplainRequest(BaseModel):
    text: str
    long: Long | None = Field(None, description="Part of a long review read; default: the run's.")
    target_class: str | None = Field(
        None,
        description="The class whose probability the contributions are to, one of /health's "
        "`classes` (another: 422). Default: two classes, the second (P(positive)); more, "
        "the predicted class.",
    )


class TokenOut(BaseModel):
    text: str
    start: int
    end: int
    contribution: float | None = Field(
        description="P(target_class) minus P(target_class) without the token: positive "
        "pushed towards it; null: not scored (past max_explain_tokens)"
    )
    read: bool = Field(description="Inside the part of a long review the GRU reads")


class ExplainResponse(BaseModel):
    text: str
    prediction: PredictionOut
    tokens: list[TokenOut]
    target_class: str = Field(description="The class explained: contributions are to its P")
    note: str
    method: str


class HealthResponse(BaseModel):
    status: str
    warm: bool = Field(description="The forward pass is compiled for the usual shapes")
    model: str = Field(description="The run folder's name")
    preset: str
    arch: str
    cell: str | None = Field(description="gru or lstm; null for a linear baseline")
    max_len: int | None = Field(description="Tokens the GRU reads; null: all (baseline)")
    keep: str
    classes: list[str] = Field(description="The run's classes, in class-index order")
    threshold: float | None = Field(
        description="Two classes: the decision threshold on P(positive), chosen on "
        "validation; more: null (the most probable class is predicted)"
    )
    test_metrics: dict[str, int | float | None] = Field(
        description="The run's headline test metrics (two classes: accuracy, precision, "
        "recall, f1, roc_auc; more: accuracy, macro_f1, weighted_f1, balanced_accuracy, "
        "and mae, within_one for star ratings) and n_test"
    )
    limits: dict[str, int | float] = Field(description="This server's limits")
