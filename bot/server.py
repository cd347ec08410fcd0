"""Herald's own HTTP server: health checks now, webhooks and Slack events later.

Routes are added by the core, cogs and adapters before `start`; aiohttp
freezes the router once the server runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    def __init__(self, host: str, port: int, health: HealthCheck) -> None:
        self.host = host
        self.requested_port = port
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.router.add_get("/healthz", self._healthz)
        self._health = health
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    def add_route(self, method: str, path: str, handler: RouteHandler) -> None:
        self.app.router.add_route(method, path, handler)

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked the OS to choose one)."""
        if self._runner is None or not self._runner.addresses:
            return self.requested_port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.requested_port)
        await self._site.start()
        log.info("HTTP server listening on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _: web.Request) -> web.Response:
        healthy, status = await self._health()
        return web.json_response(status, status=200 if healthy else 503)
