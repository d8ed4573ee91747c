"""Enforcing `Limits` below the routes: the limit error, body size and time, and the
time a request's headers may take.

These act before a route sees the request (ASGI middleware) or before uvicorn parses it
(its HTTP protocol), so a large or slow client costs no more than the limits allow.
"""

from __future__ import annotations

import asyncio

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


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
