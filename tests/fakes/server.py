"""A base for fake vendor servers: an aiohttp app on 127.0.0.1 that records calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any, Self

from aiohttp import web
from multidict import MultiDict


@dataclass
class Call:
    """One request a fake received, kept for assertions."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    json: Any = None
    form: MultiDict[Any] = field(default_factory=MultiDict)
    files: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)


CALL = web.RequestKey("call", Call)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with Content-Type exactly `application/json`, as the vendors send it."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeServer:
    """Subclasses add routes in `routes()`; every request is recorded in `calls`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        self.routes(self.app.router)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.new_call = asyncio.Condition()

    def routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def find(self, method: str, path_part: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and path_part in c.path]

    async def wait_for(
        self, method: str, path_part: str, count: int = 1, timeout: float = 5
    ) -> list[Call]:
        """Wait until at least `count` matching calls arrived; return them."""

        async def arrived() -> list[Call]:
            async with self.new_call:
                await self.new_call.wait_for(lambda: len(self.find(method, path_part)) >= count)
            return self.find(method, path_part)

        try:
            return await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            seen = [f"{c.method} {c.path}" for c in self.calls]
            raise AssertionError(
                f"no {count}x {method} *{path_part}* within {timeout}s; saw {seen}"
            ) from None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
        """The fake, serving until the block ends."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/gateway"):
            return await handler(request)
        body = await request.read()
        call = Call(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            query=dict(request.query),
            body=body,
        )
        content_type = request.content_type
        if content_type == "application/json" and body:
            call.json = json.loads(body)
        elif content_type == "application/x-www-form-urlencoded":
            call.form = MultiDict(await request.post())
        elif content_type.startswith("multipart/"):
            _read_multipart(request.headers["Content-Type"], body, call)
        request[CALL] = call
        try:
            return await handler(request)
        finally:
            self.calls.append(call)
            async with self.new_call:
                self.new_call.notify_all()


def _read_multipart(content_type: str, body: bytes, call: Call) -> None:
    """Parse a multipart body with the standard library's MIME parser."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    form: MultiDict[Any] = MultiDict()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename:
            call.files.setdefault(str(name), []).append((filename, data))
        elif name == "payload_json":
            call.json = json.loads(data)
        else:
            form.add(str(name), data.decode())
    call.form = form
