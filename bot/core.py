"""The core: wires settings, storage, HTTP, cogs and platform adapters together.

It knows no service and no chat platform by name: cogs are found by walking
the `cogs` package, and adapters are chosen by `bot.platforms.select`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot.announce import Announcements
from bot.cog import Cog
from bot.commands import CommandSpec
from bot.config import (
    DEFAULT_ENV_FILE,
    BaseHeraldSettings,
    NotConfigured,
    Settings,
    load_settings,
)
from bot.coordination import Coordination, process_holder
from bot.followups import Followups
from bot.health import platform_problems, platform_shards, store_problem
from bot.http import ServiceClient
from bot.languages import ChannelLanguages
from bot.logs import redactor
from bot.metrics import Metrics, core_state, metrics_endpoint
from bot.platforms.base import Platform
from bot.server import HttpServer
from bot.store import Store, open_store

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseHeraldSettings)


class Core:
    def __init__(
        self,
        settings: Settings,
        *,
        env_file: str | Path | None = DEFAULT_ENV_FILE,
        cog_package: str = "cogs",
    ) -> None:
        self.settings = settings
        self.env_file = env_file
        self.cog_package = cog_package
        self.cogs: dict[str, Cog] = {}
        self.skipped: dict[str, list[str]] = {}
        self.commands: dict[str, CommandSpec] = {}
        self.platforms: list[Platform] = []
        self.server = HttpServer(
            settings.http_host,
            settings.http_port,
            self._health,
            self._readiness,
            read_timeout=settings.webhook_read_timeout_seconds,
            max_reads=settings.webhook_max_concurrent_reads,
        )
        self.metrics = Metrics(core_state(self))
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        self.server.add_route("GET", "/metrics", metrics_endpoint(self.metrics, token))
        self.announcements = Announcements(
            lambda: self.store,
            lambda: self.coordination,
            self,
            self.channel_language,
            self.spawn,
            self.server,
            self.metrics,
            settings,
        )
        self.followups = Followups(self)
        self.languages = ChannelLanguages(self)
        self._store: Store | None = None
        self._coordination: Coordination | None = None
        self.instance_id = ""  # this database's random id, salting keys sent to platforms
        self._clients: list[ServiceClient] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ready = False
        self._draining = False
        self._stopping = asyncio.Event()
        self.exit_code = 0
        redactor.add(settings.secrets())

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the store is opened by Core.start()")
        return self._store

    @property
    def coordination(self) -> Coordination:
        """Which lanes and jobs are this process's (all of them on SQLite)."""
        if self._coordination is None:
            raise RuntimeError("the coordination starts with the store, in Core.start()")
        return self._coordination

    def platform(self, name: str) -> Platform | None:
        """The running adapter called `name` (`discord`, `slack`, `console`), if any."""
        return next((p for p in self.platforms if p.name == name), None)

    async def channel_language(self, platform: str, channel_id: str) -> str:
        """The language announcements and public cards in the channel speak (awaitable, so
        a platform that must ask for it may join later)."""
        return self.languages.of(platform, channel_id)

    def service_settings(self, cls: type[S]) -> S:
        """Load a cog's settings; raises `NotConfigured` when its required ones are unset."""
        loaded = load_settings(cls, self.env_file)
        secrets = getattr(loaded, "secrets", None)
        if secrets is not None:
            redactor.add(secrets())
        return loaded

    def http(self, label: str, base_url: str, **options: Any) -> ServiceClient:
        """A `ServiceClient` that the core closes at shutdown."""
        client = ServiceClient(
            label, base_url, metrics=self.metrics.service(label.lower()), **options
        )
        self._clients.append(client)
        return client

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run background work; a crash is logged, never silently lost."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s crashed", task.get_name(), exc_info=task.exception())

    async def add_cog(self, cog: Cog) -> None:
        """Register a cog and its commands; `start` calls its `load` later."""
        for spec in cog.commands():
            if spec.name in self.commands:
                raise RuntimeError(f"/{spec.name} is defined by both {cog.name} and another cog")
            self.commands[spec.name] = spec
        self.cogs[cog.name] = cog

    async def load_cogs(self) -> None:
        package = importlib.import_module(self.cog_package)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{self.cog_package}.{info.name}")
            setup = getattr(module, "setup", None)
            if setup is None:
                continue
            try:
                await setup(self)
            except NotConfigured as missing:
                self.skipped[info.name] = missing.missing
                log.info(
                    "cog %s not loaded: set %s to enable it", info.name, ", ".join(missing.missing)
                )
        if self.followups.readers:  # some cog creates items whose status it can read
            await self.add_cog(self.followups)
        log.info("cogs loaded: %s", ", ".join(sorted(self.cogs)) or "none")

    async def start(self) -> None:
        """Open storage, load cogs, serve HTTP and connect the platforms."""
        from bot.platforms import select

        self._store = await open_store(self.settings.database_url)
        self._coordination = self._store.coordination(
            process_holder(), self.settings.herald_lease_seconds
        )
        await self._coordination.start()
        self.instance_id = await self._store.instance_id()
        await self.languages.load()
        await self.load_cogs()
        for cog in self.cogs.values():
            await cog.load()
        self.platforms = select(self)
        await self.server.start()
        for platform in self.platforms:
            await platform.start()
        await self.announcements.start()
        self._ready = True
        log.info("Herald is ready on %s", ", ".join(p.name for p in self.platforms))

    def stop(self, exit_code: int = 0) -> None:
        """Ask `run` to shut down (safe to call from a signal handler)."""
        self.exit_code = self.exit_code or exit_code
        self._stopping.set()

    async def wait_stopped(self) -> None:
        await self._stopping.wait()

    async def close(self) -> None:
        """Stop everything in reverse order of start; safe to call twice."""
        self._ready = False
        await _quietly(self.announcements.close(), "stopping announcements")
        for platform in reversed(self.platforms):
            await _quietly(platform.close(), f"closing {platform.name}")
        for cog in reversed(list(self.cogs.values())):
            await _quietly(cog.unload(), f"unloading {cog.name}")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.server.stop()
        for client in self._clients:
            await client.close()
        self._clients.clear()
        if self._coordination is not None:
            await _quietly(self._coordination.close(), "giving up leases")
            self._coordination = None
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def drain(self) -> None:
        """The graceful part of shutdown, within SHUTDOWN_GRACE_SECONDS.

        Requests are refused first (503 with Retry-After) while those under way
        are answered, so nothing is acknowledged that is not stored; then the
        deliveries under way get what is left of the grace period. `close`
        stops the rest.
        """
        self._draining = True
        grace = self.settings.shutdown_grace_seconds
        deadline = time.monotonic() + grace
        log.info("Herald is stopping: finishing what is under way (at most %g s)", grace)
        await self.server.drain(grace)
        await _quietly(
            self.announcements.drain(max(0.0, deadline - time.monotonic())),
            "finishing deliveries",
        )

    async def run(self) -> int:
        try:
            await self.start()
            await self.wait_stopped()
            await self.drain()
        finally:
            await self.close()
        return self.exit_code

    async def _announcement_backlog(self) -> dict[str, int] | None:
        if self._store is None:
            return None
        return {
            "unrouted": await self._store.unrouted_count(),
            "undelivered": await self._store.pending_count(),
        }

    async def _health(self) -> tuple[bool, dict[str, Any]]:
        database = "ok" if self._store is not None and await self._store.ping() else "down"
        state = "stopping" if self._draining else "starting"
        status: dict[str, Any] = {
            "status": "ok" if self._ready and not self._draining and database == "ok" else state,
            "database": database,
            "platforms": {p.name: p.status() for p in self.platforms},
            "cogs": sorted(self.cogs),
            "announcements": await self._announcement_backlog(),
            "not_configured": {name: needs for name, needs in sorted(self.skipped.items())},
        }
        if shards := platform_shards(self.platforms):
            status["shards"] = shards
        return status["status"] == "ok", status

    async def _readiness(self) -> list[str]:
        """Why Herald should not be sent traffic now (for /readyz); empty when ready."""
        reasons: list[str] = []
        if self._draining:
            reasons.append("stopping")
        elif not self._ready:
            reasons.append("starting")
        if problem := await store_problem(self._store):
            reasons.append(problem)
        return reasons + platform_problems(self.platforms)


async def _quietly(coro: Coroutine[Any, Any, Any], what: str) -> None:
    try:
        await coro
    except Exception:
        log.exception("error while %s", what)
