"""Announcements: events in (webhooks and pollers), outbox rows out.

Every delivery, from a webhook receiver or a poller, enters through
`submit`: it is committed to the inbox under its delivery key (a repeat is
recognised and dropped) before anyone is told it was accepted. The router
then reads new inbox rows in order, asks the service's `Source` for the
neutral `Event`, completes it from what is known about its item, matches it
against the active subscriptions and queues one outbox row per channel, all
in one transaction. The delivery worker (`bot.delivery`) drains the outbox.

A crash at any point loses nothing: an inbox row not yet routed is routed
again at start-up, and the outbox's unique (delivery, channel) key makes that
harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from bot.delivery import DeliveryWorker
from bot.events import Event, KnownItem, Source, enrich
from bot.filters import Filter
from bot.store import INBOX_FAILED, INBOX_IGNORED, INBOX_NEW, Delivery, Route
from bot.webhooks import Authenticator, Outcome, Reader, WebhookReceiver, webhook_handler

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

ROUTE_BATCH = 100
RETENTION_SECONDS = 30 * 24 * 3600
PRUNE_EVERY_SECONDS = 3600.0


class Announcements:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.sources: dict[str, Source] = {}
        self.worker = DeliveryWorker(core)
        self._new = asyncio.Event()
        self._router: asyncio.Task[None] | None = None

    def add_source(self, source: Source) -> None:
        if source.name in self.sources:
            raise RuntimeError(f"event source {source.name} is registered twice")
        self.sources[source.name] = source

    def add_webhook(self, source: Source, path: str, auth: Authenticator, read: Reader) -> None:
        """Register `source` and serve its webhook at `path` (call while cogs load)."""
        self.add_source(source)
        receiver = WebhookReceiver(source.name, path, auth, read)
        self.core.server.add_route("POST", path, webhook_handler(receiver, self.submit))

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
        stored = await self.core.store.add_delivery(source, kind, key, text, state)
        if stored is None:
            log.info("%s %s: repeated delivery, not announced again", source, kind)
            return Outcome.DUPLICATE
        if not formatted:
            log.info("%s %s: stored, but Herald does not announce this kind", source, kind)
            return Outcome.IGNORED
        self._new.set()
        return Outcome.QUEUED

    async def known_item(self, item: str) -> KnownItem | None:
        """What earlier events said about `item` (its title, link and attributes)."""
        return await self.core.store.known_item(item)

    async def start(self) -> None:
        self._router = self.core.spawn(self._route_forever(), name="router")
        self.worker.start()

    async def close(self) -> None:
        await self.worker.close()
        if self._router is not None:
            self._router.cancel()
            await asyncio.gather(self._router, return_exceptions=True)

    async def _route_forever(self) -> None:
        pruned = 0.0
        while True:
            self._new.clear()
            deliveries = await self.core.store.new_deliveries(ROUTE_BATCH)
            for delivery in deliveries:
                if await self._route(delivery):
                    self.worker.wake()
            if deliveries:
                continue
            if time.monotonic() - pruned > PRUNE_EVERY_SECONDS:
                await self.core.store.prune(time.time() - RETENTION_SECONDS)
                pruned = time.monotonic()
            await self._new.wait()

    async def _route(self, delivery: Delivery) -> int:
        """Route one delivery; how many outbox rows it queued."""
        store = self.core.store
        source = self.sources.get(delivery.source)
        try:
            if source is None:
                raise LookupError(f"no cog handles {delivery.source} events now")
            event = await source.normalise(delivery.kind, json.loads(delivery.payload))
        except Exception as error:
            log.exception(
                "%s %s #%d could not be read", delivery.source, delivery.kind, delivery.id
            )
            await store.close_delivery(
                delivery.id, INBOX_FAILED, f"{type(error).__name__}: {error}"
            )
            return 0
        if event is None:
            await store.close_delivery(delivery.id, INBOX_IGNORED, "not announced")
            return 0
        known = await store.known_item(event.item) if event.item else None
        event = enrich(event, known)
        routes = await self._routes(event)
        remembered = None
        if event.item:
            remembered = (event.item, KnownItem(event.title, event.url, event.attributes))
        queued = await store.route(delivery.id, event.to_json(), routes, remembered)
        log.debug("%s %s #%d -> %d channel(s)", event.source, event.kind, delivery.id, queued)
        return queued

    async def _routes(self, event: Event) -> list[Route]:
        """One route per channel whose subscriptions match, however many of them do."""
        routes: dict[tuple[str, str], Route] = {}
        for sub in await self.core.store.active_subscriptions(event.source):
            lane = (sub.platform, sub.channel_id)
            if lane not in routes and Filter.from_json(sub.filter).matches(event):
                routes[lane] = Route(sub.platform, sub.channel_id, sub.id)
        return list(routes.values())
