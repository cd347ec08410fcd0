"""Announcements: events in (webhooks and pollers), outbox rows out.

Every delivery, from a webhook receiver or a poller, enters through
`submit`: it is committed to the inbox under its delivery key (a repeat is
recognised and dropped) before anyone is told it was accepted. Each source's
router (`bot.routing`) then turns its new inbox rows into outbox rows, and
the delivery worker (`bot.delivery`) drains the outbox.

A crash at any point loses nothing: an inbox row not yet routed is routed
again at start-up, and the outbox's unique (delivery, channel) key makes that
harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from bot.coordination import Coordination
from bot.delivery import DeliveryStore, DeliveryWorker
from bot.events import KnownItem, Source
from bot.logcontext import bound
from bot.routing import RoutingStore, SourceRouter, known_before
from bot.store import INBOX_IGNORED, INBOX_NEW
from bot.webhooks import (
    STATUS,
    Authenticator,
    Outcome,
    Reader,
    WebhookReceiver,
    webhook_handler,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.metrics import Metrics
    from bot.platforms.base import Platforms
    from bot.server import HttpServer
    from bot.waiting import Spawner

log = logging.getLogger(__name__)

RETENTION_SECONDS = 30 * 24 * 3600
PRUNE_EVERY_SECONDS = 3600.0


class AnnouncementStore(RoutingStore, DeliveryStore, Protocol):
    """What announcing needs of the store: the inbox, the outbox, the subscriptions."""


class Announcements:
    """Webhooks and pollers in, routers and the delivery worker running.

    `store` gives the store once it is open, `coordination` the process's share of
    the work; `channel_language` the language a channel's announcements speak; `spawn`
    runs the routers and workers.
    """

    def __init__(
        self,
        store: Callable[[], AnnouncementStore],
        coordination: Callable[[], Coordination],
        platforms: Platforms,
        channel_language: Callable[[str, str], Awaitable[str]],
        spawn: Spawner,
        server: HttpServer,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self._store = store
        self.channel_language = channel_language
        self.spawn = spawn
        self.server = server
        self.metrics = metrics
        self.settings = settings
        self.sources: dict[str, Source] = {}
        self.worker = DeliveryWorker(store, coordination, platforms, spawn, metrics, settings)
        self._routers: dict[str, SourceRouter] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    @property
    def store(self) -> AnnouncementStore:
        return self._store()

    def add_source(self, source: Source) -> None:
        if source.name in self.sources:
            raise RuntimeError(f"event source {source.name} is registered twice")
        self.sources[source.name] = source
        if (router := self._routers.get(source.name)) is not None:
            router.source = source  # it was failing the deliveries no cog served
            router.wake()
        elif self._started:
            self._start_router(source.name)

    def add_webhook(
        self,
        source: Source,
        path: str,
        auth: Authenticator,
        read: Reader,
        *,
        ignored_status: int = STATUS[Outcome.IGNORED],
    ) -> None:
        """Register `source` and serve its webhook at `path` (call while cogs load).

        `ignored_status` answers a kind Herald does not announce: 202 unless
        the sender retries anything but 200.
        """
        self.add_source(source)
        receiver = WebhookReceiver(source.name, path, auth, read, ignored_status)
        handler = webhook_handler(receiver, self.submit, self.server.read_body, self.metrics)
        self.server.add_route("POST", path, handler, reads_body=True)

    async def submit(
        self, source: str, kind: str, payload: str | dict[str, Any], key: str
    ) -> Outcome:
        """Store one delivery for announcement; the answer to give the sender.

        Pollers call this like webhook receivers do, with a key that names the
        change they saw (`build:812:success`), so seeing it twice posts once.
        """
        text = payload if isinstance(payload, str) else json.dumps(payload)
        known = self.sources.get(source)
        if known is None:
            raise RuntimeError(f"no event source {source} is registered")
        formatted = known.formats(kind)
        state = INBOX_NEW if formatted else INBOX_IGNORED
        stored = await self.store.add_delivery(source, kind, key, text, state)
        if stored is None:
            log.info("%s %s: repeated delivery, not announced again", source, kind)
            return Outcome.DUPLICATE
        if not formatted:
            log.info("%s %s: stored, but Herald does not announce this kind", source, kind)
            return Outcome.IGNORED
        if (router := self._routers.get(source)) is not None:
            router.wake()
        return Outcome.QUEUED

    async def known_item(self, item: str) -> KnownItem | None:
        """What earlier events said about `item` (its title, link and attributes)."""
        return await known_before(item, self.store.known_item)

    async def start(self) -> None:
        """One router per source, and one for deliveries of sources no cog serves now."""
        self._started = True
        for name in dict.fromkeys([*self.sources, *await self.store.unrouted_sources()]):
            self._start_router(name)
        self._tasks.append(self.spawn(self._prune_forever(), name="inbox pruning"))
        self.worker.start()

    def _start_router(self, name: str) -> None:
        router = SourceRouter(
            name,
            self.sources.get(name),
            self._store,
            self.known_item,
            self.channel_language,
            self.worker.wake,
            self.settings.enrich_budget_seconds,
        )
        self._routers[name] = router
        with bound(source=name):
            self._tasks.append(self.spawn(router.run(), name=f"router {name}"))

    async def drain(self, grace: float) -> None:
        """Stop routing (what is not routed yet is routed after a restart), and give
        deliveries under way up to `grace` seconds to finish."""
        await self._stop_routing()
        await self.worker.drain(grace)

    async def close(self) -> None:
        await self.worker.close()
        await self._stop_routing()

    async def _stop_routing(self) -> None:
        for router in self._routers.values():
            router.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _prune_forever(self) -> None:
        while True:
            try:
                dead_days = self.settings.dead_delivery_retention_days
                await self.store.prune(
                    time.time() - RETENTION_SECONDS, time.time() - dead_days * 86400
                )
            except Exception:
                log.exception("pruning old deliveries failed; trying again later")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
