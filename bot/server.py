"""Herald's own HTTP server: health checks, webhooks and Slack events.

Routes are added by the core, cogs and adapters before `start`; aiohttp
freezes the router once the server runs.

The server protects itself from slow and eager senders: a body must arrive
within a deadline (408), only so many bodies are read at once (a request
that finds no free slot within half a second gets 503), and after an answer
given before the body arrived the rest is drained for at most
`LINGER_SECONDS` before the connection is closed. A request with a header
that is not UTF-8 gets 401. At shutdown the server drains: new requests get
503 with `Retry-After` while those under way finish.

The probes answer whatever the state: `/livez` (the process answers at all:
no database call, nothing that can hang), `/readyz` (200, or 503 with the
reasons Herald should not get traffic yet or any more) and `/healthz` (the
summary, in detail for the machine itself only).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.waiting import wait_set

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
LINGER_SECONDS = 2.0
"""After an early answer, how long the rest of a request body may still trickle in."""
STOP_SECONDS = 1.0
"""At the very end of shutdown, how long a request still open may take to end."""
READ_SLOT_WAIT_SECONDS = 0.5
"""How long a request waits for a free read slot (a burst frees them in milliseconds)."""
RETRY_AFTER_SECONDS = 5
"""What a sender refused for lack of room or during shutdown is asked to wait."""
FORWARDED_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
PROBES = frozenset({"/livez", "/readyz", "/healthz"})
"""Paths answered even while draining, and not counted as requests under way."""
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
ReadyCheck = Callable[[], Awaitable[list[str]]]
"""Why Herald should not be sent traffic now: short reasons, none when it is ready."""
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A request turned away before its handler saw it: a body too slow (408), too many
    reads at once (503), a body too big (413), a header that is not UTF-8 (401)..."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}

    def response(self, logged: web.Request | None = None) -> web.Response:
        """The answer (`{"error": reason}`); the refusal is logged when `logged` is given."""
        if logged is not None:
            log.warning(
                "%s refused (%d, %s) from %s", logged.path, self.status, self.reason, logged.remote
            )
        return web.json_response({"error": self.reason}, status=self.status, headers=self.headers)


class HttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        health: HealthCheck,
        ready: ReadyCheck,
        *,
        read_timeout: float = 10.0,
        max_reads: int = 32,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.read_timeout = read_timeout
        self.app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._admit])
        self.app.router.add_get("/livez", self._livez)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/healthz", self._healthz)
        self._health = health
        self._ready = ready
        self._reads = asyncio.Semaphore(max_reads)
        self._draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    def add_route(
        self, method: str, path: str, handler: RouteHandler, *, reads_body: bool = False
    ) -> None:
        """Serve `handler`; its request body is read first under the deadline and the
        cap, unless it `reads_body` itself through `read_body` (after its own checks)."""
        self.app.router.add_route(method, path, handler if reads_body else self._reading(handler))

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked the OS to choose one)."""
        if self._runner is None or not self._runner.addresses:
            return self.requested_port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=STOP_SECONDS,
            lingering_time=LINGER_SECONDS,
        )
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.requested_port)
        await self._site.start()
        log.info("HTTP server listening on http://%s:%d", self.host, self.port)

    async def read_body(self, request: web.Request) -> bytes:
        """The request's body, read within the deadline and the cap on concurrent reads.

        Raises `Refused`. aiohttp keeps the body, so a later `request.read()`
        or `request.text()` returns it at once.
        """
        # asyncio.timeout rather than wait_for: no task per request on the hot path.
        try:
            async with asyncio.timeout(READ_SLOT_WAIT_SECONDS):
                await self._reads.acquire()
        except TimeoutError:
            raise Refused(503, "too many requests at once", RETRY_AFTER_SECONDS) from None
        try:
            async with asyncio.timeout(self.read_timeout):
                return await request.read()
        except TimeoutError:
            raise Refused(408, f"the body did not arrive within {self.read_timeout:g} s") from None
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, "body larger than 1 MiB") from None
        finally:
            self._reads.release()

    async def drain(self, grace: float) -> None:
        """Refuse new requests (503 + Retry-After); wait up to `grace` s for those under way."""
        self._draining = True
        if self._in_flight:
            log.info("waiting for %d request(s) under way", self._in_flight)
            if not await wait_set(self._idle, grace):
                log.warning("%d request(s) still under way at shutdown", self._in_flight)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _reading(self, handler: RouteHandler) -> RouteHandler:
        async def read_then_handle(request: web.Request) -> web.StreamResponse:
            if request.body_exists:
                try:
                    await self.read_body(request)
                except Refused as refused:
                    return refused.response(request)
            return await handler(request)

        return read_then_handle

    @web.middleware
    async def _admit(self, request: web.Request, handler: RouteHandler) -> web.StreamResponse:
        if request.path in PROBES:
            return await handler(request)
        if self._draining:
            shutting_down = "Herald is shutting down; try again shortly"
            return Refused(503, shutting_down, RETRY_AFTER_SECONDS).response()
        if not _utf8_headers(request):
            return Refused(401, "a header is not valid UTF-8").response(request)
        self._in_flight += 1
        self._idle.clear()
        try:
            return await handler(request)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _livez(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _: web.Request) -> web.Response:
        """The reasons hold no secret (`discord: disconnected`), so anyone may see them."""
        reasons = await self._ready()
        if reasons:
            return web.json_response({"status": "not ready", "reasons": reasons}, status=503)
        return web.json_response({"status": "ready"})

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, status = await self._health()
        if not is_local(request.remote, request.headers):
            status = {"status": status["status"]}
        return web.json_response(status, status=200 if healthy else 503)


def _utf8_headers(request: web.Request) -> bool:
    """No secret or signature can be in a header that is not UTF-8: such a request is
    refused before a handler compares it (aiohttp would hand it over as surrogates)."""
    try:
        for name, value in request.raw_headers:
            name.decode()
            value.decode()
    except UnicodeDecodeError:
        return False
    return True


def is_local(remote: str | None, headers: Mapping[str, str]) -> bool:
    """A request from this machine itself, not relayed by a proxy: only it sees details."""
    if any(name in headers for name in FORWARDED_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
