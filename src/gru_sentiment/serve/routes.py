"""The service's routes: the page, /health, /examples, /predict, /explain.

One router for every app: a handler finds what it serves in `request.app.state`, which
`create_app` fills: `model` (the loaded `RunModel`), `limits` (`Limits`), `batcher` (the
`MicroBatcher` /predict calls go through) and `warm` (an `asyncio.Event`, set once the
forward pass is compiled).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from ..data.tables import text_error
from ..evaluation.metrics import headline
from ..inference.explain import class_index, occlusion
from ..inference.run_model import keep_mode
from .guards import LimitExceeded
from .limits import Limits
from .schemas import (
    ERRORS,
    ExplainRequest,
    ExplainResponse,
    HealthResponse,
    PredictRequest,
    PredictResponse,
)

STATIC = resources.files("gru_sentiment.serve") / "static"

router = APIRouter()


@cache
def page() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def check_chars(texts: list[str], limits: Limits) -> None:
    """422 naming the limit when a text is too long, before any model time is spent."""
    for i, text in enumerate(texts):
        if len(text) > limits.max_chars:
            raise LimitExceeded(
                422,
                "max_chars",
                limits.max_chars,
                f"text {i} has {len(text):,} characters; max_chars = {limits.max_chars:,}",
            )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> str:
    return page()


@router.get("/health", response_model=HealthResponse)
def health(request: Request) -> dict:
    """The model, its preset and test metrics, this server's limits, and whether the
    forward pass is compiled for the usual shapes yet (`warm`)."""
    state = request.app.state
    model = state.model
    classes = list(model.classes)
    # Two classes: accuracy, precision, ...; more: accuracy, macro_f1, ... (no precision).
    metrics = (*headline(model.metrics | {"classes": classes}), "n_test")
    return {
        "status": "ok",
        "warm": state.warm.is_set(),
        "model": model.name,
        **model.describe(),
        "classes": classes,
        "threshold": model.threshold,
        "test_metrics": {k: model.metrics[k] for k in metrics if k in model.metrics},
        "limits": asdict(state.limits),
    }


@router.get("/examples")
def examples(request: Request) -> list[dict]:
    """A few test reviews from the run (examples.json), with their true label."""
    return [{"text": e["text"], "true": e["true"]} for e in request.app.state.model.examples()]


@router.post("/predict", response_model=PredictResponse, responses=ERRORS)
async def predict(body: PredictRequest, request: Request) -> dict:
    """Predict one review (`text`) or several (`texts`); a bad text gets its own
    `error` and the others are still predicted."""
    if (body.text is None) == (body.texts is None):
        raise HTTPException(422, {"error": "give exactly one of `text` or `texts`"})
    texts = [body.text] if body.texts is None else body.texts
    limits = request.app.state.limits
    if len(texts) > limits.max_texts:
        raise LimitExceeded(
            422,
            "max_texts",
            limits.max_texts,
            f"{len(texts):,} texts in one request; max_texts = {limits.max_texts}",
        )
    check_chars(texts, limits)
    predictions = await request.app.state.batcher.predict(texts, body.long)
    return {"predictions": [p.to_dict() for p in predictions]}


@router.post("/explain", response_model=ExplainResponse, responses=ERRORS)
def explain(body: ExplainRequest, request: Request) -> dict:
    """Per-token contributions to P(`target_class`) (default: P(positive) for two
    classes, P(predicted class) for more), by occlusion, of at most max_explain_tokens
    tokens (the GRU's first), within explain_seconds (then 503)."""
    model, limits = request.app.state.model, request.app.state.limits
    deadline = time.monotonic() + limits.explain_seconds
    check_chars([body.text], limits)
    error = text_error(body.text)
    if error:
        raise HTTPException(422, {"error": error})
    if body.target_class is not None:
        try:
            class_index(list(model.classes), body.target_class)
        except ValueError as err:
            raise HTTPException(422, {"error": str(err)}) from None
    keep = keep_mode(body.long, model.cfg)
    try:
        explanation = occlusion(
            model, body.text, keep, limits.max_explain_tokens, deadline, body.target_class
        )
    except TimeoutError as err:
        seconds = limits.explain_seconds
        message = f"{err}: explain_seconds = {seconds:g} s (the server is busy: try again)"
        raise LimitExceeded(503, "explain_seconds", seconds, message) from None
    return explanation.to_dict()
