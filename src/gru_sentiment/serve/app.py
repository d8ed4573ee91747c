"""HTTP service for a run folder: FastAPI app, run by uvicorn.

The model is loaded once, before the server starts; `SentimentModel` serialises model
calls with a lock, so concurrent requests are safe. Concurrent /predict requests share
model calls (`MicroBatcher`): one forward pass and one thread hop serve all the requests
that arrived while the previous pass ran. Every request is bounded: body bytes (413) and
the time its body takes to arrive (408), texts per request and characters per text (422),
an explanation's tokens (the rest are not scored) and time (503); the JSON error names the
limit that was hit, e.g. {"detail": {"error": "...", "limit": "max_texts", "max": 64}}.
uvicorn closes idle connections and answers 503 past `max_concurrency` (`serve`).

The pieces live beside this module: `limits` (what a request may take), `guards` (where
that is enforced below the routes), `batcher`, `schemas` and `routes`; here they are put
together for one model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..inference.run_model import RunModel
from .batcher import MicroBatcher
from .guards import BodyLimit, header_deadline
from .limits import Limits
from .routes import STATIC, router
from .schemas import BUSY

__all__ = ["Limits", "MicroBatcher", "create_app", "serve"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The batcher's worker, and the warm-up in the background: the server answers at
    once, and the compiled shapes arrive in seconds."""
    state = app.state

    async def warm_up() -> None:
        await asyncio.to_thread(state.model.warm_up)
        state.warm.set()

    tasks = [asyncio.create_task(state.batcher.run()), asyncio.create_task(warm_up())]
    yield
    for task in tasks:
        task.cancel()


async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
    """FastAPI's errors without the `input` they echo: Python's JSON parser accepts NaN
    and Infinity, which a JSON response cannot hold (its encoder raised: a 500)."""
    errors = [{k: v for k, v in e.items() if k != "input"} for e in err.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, 422)


def create_app(model: RunModel, limits: Limits | None = None) -> FastAPI:
    """The service for one loaded model."""
    limits = limits or Limits()
    app = FastAPI(
        lifespan=lifespan,
        responses=BUSY,
        title="gru-sentiment",
        version=__version__,
        description=(
            f"Class of texts by a GRU trained with gru-sentiment; this run's classes: "
            f"{', '.join(model.classes)}. Word contributions are computed by occlusion: each "
            "word is removed in turn and its contribution is how much P(class explained) "
            "drops without it (by default P(positive) for two classes, P(predicted) for more)."
        ),
    )
    # What the routes serve (see `routes`); the event loop that `warm` and the batcher's
    # queue belong to starts only after this, but neither binds to a loop until first used.
    app.state.model = model
    app.state.limits = limits
    app.state.batcher = MicroBatcher(model, limits.max_texts)
    app.state.warm = asyncio.Event()
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, seconds=limits.body_seconds)
    app.add_exception_handler(RequestValidationError, invalid)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(router)
    return app


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
