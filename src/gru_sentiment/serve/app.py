"""HTTP service for a run folder: FastAPI app, run by uvicorn.

The model is loaded once, before the server starts; `SentimentModel` serialises model
calls with a lock, so concurrent requests are safe. Concurrent /predict requests share
model calls (`MicroBatcher`): one forward pass and one thread hop serve all the requests
that arrived while the previous pass ran. Every request is bounded: body bytes (413) and
the time its body takes to arrive (408), texts per request and characters per text (422),
an explanation's tokens (the rest are not scored) and time (503); the JSON error names the
limit that was hit, e.g. {"detail": {"error": "...", "limit": "max_texts", "max": 64}}.
uvicorn closes idle connections and answers 503 past `max_concurrency` (`serve`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..config import KEEP
from ..data.tables import text_error
from ..evaluation.metrics import headline
from ..inference.explain import MAX_TOKENS, class_index, occlusion
from ..inference.prediction import Prediction
from ..inference.run_model import RunModel, keep_mode

STATIC = resources.files("gru_sentiment.serve") / "static"
Long = Literal[KEEP]  # Literal["head", "tail", "head+tail"]


@dataclass(frozen=True)
class Limits:
    """What one request may hold and take; the defaults fit any IMDB review (longest:
    13,704 chars), whose explanation takes seconds."""

    max_body_bytes: int = 1_000_000
    max_texts: int = 64
    max_chars: int = 20_000
    max_explain_tokens: int = MAX_TOKENS  # tokens /explain scores; the others: null
    explain_seconds: float = 30.0  # then /explain answers 503
    body_seconds: float = 10.0  # for a request's body to arrive after its headers (408)
    header_seconds: float = 10.0  # for a request's headers to arrive; then it is closed
    keep_alive_seconds: float = 5.0  # an idle connection is closed this long after a response
    max_concurrency: int = 64  # connections and requests at once; uvicorn answers 503 beyond


class LimitExceeded(HTTPException):
    """408 / 413 / 422 / 503 with a JSON body naming the limit."""

    def __init__(
        self,
        status: int,
        limit: str,
        maximum: float,
        message: str,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status, {"error": message, "limit": limit, "max": maximum}, headers)


class BodyLimit:
    """ASGI middleware: refuse bodies over `max_bytes` before they are read into memory,
    by their Content-Length, or while they stream when it is absent (chunked); and bodies
    that take longer than `seconds` to arrive, so a stalled client holds no request."""

    def __init__(self, app: ASGIApp, max_bytes: int, seconds: float):
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    def error(self) -> LimitExceeded:
        return LimitExceeded(
            413,
            "max_body_bytes",
            self.max_bytes,
            f"request body larger than max_body_bytes = {self.max_bytes:,} bytes",
        )

    def timeout(self) -> LimitExceeded:
        return LimitExceeded(
            408,
            "body_seconds",
            self.seconds,
            f"request body not received within body_seconds = {self.seconds:g} s",
            {"Connection": "close"},  # the rest of the body is never read
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and int(length) > self.max_bytes:
            err = self.error()
            await JSONResponse({"detail": err.detail}, err.status_code)(scope, receive, send)
            return
        received, complete = 0, False
        deadline = asyncio.get_running_loop().time() + self.seconds

        async def limited() -> dict:
            nonlocal received, complete
            if complete:  # the app waits for the client to disconnect: not the body's time
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise self.timeout() from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self.error()  # FastAPI turns it into the same JSON response
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited, send)


class MicroBatcher:
    """Predicts the texts of concurrent requests together, off the event loop.

    Requests queue up while the model runs; the next model call takes all of them, so
    under load the per-call cost (thread hop, TensorFlow dispatch) is shared, and the
    event loop keeps parsing requests meanwhile.
    """

    def __init__(self, model: RunModel, max_texts: int):
        self.model = model
        self.max_texts = max_texts  # texts per model call
        self.queue: asyncio.Queue = asyncio.Queue()

    async def predict(self, texts: list[str], long: str | None) -> list[Prediction]:
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((texts, long, future))
        return await future

    async def run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0][0])
            while not self.queue.empty() and size < self.max_texts:
                jobs.append(self.queue.get_nowait())
                size += len(jobs[-1][0])
            try:
                results = await asyncio.to_thread(self._predict, jobs)
            except Exception as err:  # handed to every waiting request, the worker lives on
                results = [err] * len(jobs)
            for (_, _, future), result in zip(jobs, results, strict=True):
                if future.done():  # the client went away
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _predict(self, jobs: list[tuple]) -> list[list[Prediction]]:
        """One model call per `long` mode among the jobs; results split back per job."""
        results: list = [None] * len(jobs)
        for long in {job[1] for job in jobs}:
            mine = [i for i, job in enumerate(jobs) if job[1] == long]
            predictions = self.model.predict([t for i in mine for t in jobs[i][0]], long)
            start = 0
            for i in mine:
                results[i] = predictions[start : start + len(jobs[i][0])]
                start += len(jobs[i][0])
        return results


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


def create_app(model: RunModel, limits: Limits | None = None) -> FastAPI:
    """The service for one loaded model."""
    limits = limits or Limits()
    batcher = MicroBatcher(model, limits.max_texts)

    warm = asyncio.Event()

    async def warm_up() -> None:
        # In the background: the server answers at once, compiled shapes arrive in seconds.
        await asyncio.to_thread(model.warm_up)
        warm.set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(batcher.run()), asyncio.create_task(warm_up())]
        yield
        for task in tasks:
            task.cancel()

    classes = list(model.classes)
    app = FastAPI(
        lifespan=lifespan,
        responses=BUSY,
        title="gru-sentiment",
        version=__version__,
        description=(
            f"Class of texts by a GRU trained with gru-sentiment; this run's classes: "
            f"{', '.join(classes)}. Word contributions are computed by occlusion: each word "
            "is removed in turn and its contribution is how much P(class explained) drops "
            "without it (by default P(positive) for two classes, P(predicted) for more)."
        ),
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, seconds=limits.body_seconds)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        # FastAPI's errors without the `input` they echo: Python's JSON parser accepts NaN
        # and Infinity, which a JSON response cannot hold (its encoder raised: a 500).
        errors = [{k: v for k, v in e.items() if k != "input"} for e in err.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, 422)

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    page = (STATIC / "index.html").read_text(encoding="utf-8")

    def check_chars(texts: list[str]) -> None:
        for i, text in enumerate(texts):
            if len(text) > limits.max_chars:
                raise LimitExceeded(
                    422,
                    "max_chars",
                    limits.max_chars,
                    f"text {i} has {len(text):,} characters; max_chars = {limits.max_chars:,}",
                )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    # Two classes: accuracy, precision, ...; more: accuracy, macro_f1, ... (no precision).
    health_metrics = (*headline(model.metrics | {"classes": classes}), "n_test")

    @app.get("/health", response_model=HealthResponse)
    def health() -> dict:
        """The model, its preset and test metrics, this server's limits, and whether the
        forward pass is compiled for the usual shapes yet (`warm`)."""
        return {
            "status": "ok",
            "warm": warm.is_set(),
            "model": model.name,
            **model.describe(),
            "classes": classes,
            "threshold": model.threshold,
            "test_metrics": {k: model.metrics[k] for k in health_metrics if k in model.metrics},
            "limits": asdict(limits),
        }

    @app.get("/examples")
    def examples() -> list[dict]:
        """A few test reviews from the run (examples.json), with their true label."""
        return [{"text": e["text"], "true": e["true"]} for e in model.examples()]

    @app.post("/predict", response_model=PredictResponse, responses=ERRORS)
    async def predict(request: PredictRequest) -> dict:
        """Predict one review (`text`) or several (`texts`); a bad text gets its own
        `error` and the others are still predicted."""
        if (request.text is None) == (request.texts is None):
            raise HTTPException(422, {"error": "give exactly one of `text` or `texts`"})
        texts = [request.text] if request.texts is None else request.texts
        if len(texts) > limits.max_texts:
            raise LimitExceeded(
                422,
                "max_texts",
                limits.max_texts,
                f"{len(texts):,} texts in one request; max_texts = {limits.max_texts}",
            )
        check_chars(texts)
        predictions = await batcher.predict(texts, request.long)
        return {"predictions": [p.to_dict() for p in predictions]}

    @app.post("/explain", response_model=ExplainResponse, responses=ERRORS)
    def explain(request: ExplainRequest) -> dict:
        """Per-token contributions to P(`target_class`) (default: P(positive) for two
        classes, P(predicted class) for more), by occlusion, of at most max_explain_tokens
        tokens (the GRU's first), within explain_seconds (then 503)."""
        deadline = time.monotonic() + limits.explain_seconds
        check_chars([request.text])
        error = text_error(request.text)
        if error:
            raise HTTPException(422, {"error": error})
        if request.target_class is not None:
            try:
                class_index(classes, request.target_class)
            except ValueError as err:
                raise HTTPException(422, {"error": str(err)}) from None
        keep = keep_mode(request.long, model.cfg)
        try:
            explanation = occlusion(
                model,
                request.text,
                keep,
                limits.max_explain_tokens,
                deadline,
                request.target_class,
            )
        except TimeoutError as err:
            seconds = limits.explain_seconds
            message = f"{err}: explain_seconds = {seconds:g} s (the server is busy: try again)"
            raise LimitExceeded(503, "explain_seconds", seconds, message) from None
        return explanation.to_dict()

    return app


def header_deadline(seconds: float) -> type:
    """uvicorn's HTTP protocol (httptools), closing a connection whose request headers are
    not complete `seconds` after it opened or after its previous response. uvicorn has no
    such limit: a client sending one header byte at a time (slowloris) would hold its
    connection, and its place under max_concurrency, forever."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeaderDeadline(HttpToolsProtocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._deadline.cancel()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # for the next request on this connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(seconds, self._expire)

        def _expire(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


def serve(
    model: RunModel,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    access_log: bool = True,
) -> None:
    """Run the service until interrupted."""
    import uvicorn

    limits = limits or Limits()
    uvicorn.run(
        create_app(model, limits),
        host=host,
        port=port,
        access_log=access_log,
        timeout_keep_alive=limits.keep_alive_seconds,
        limit_concurrency=limits.max_concurrency,
        http=header_deadline(limits.header_seconds),
    )
