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
from bot.store import (
    INBOX_FAILED,
    INBOX_IGNORED,
    INBOX_NEW,
    INBOX_ROUTED,
    Delivery,
    Route,
    Subscription,
    Verdict,
)
from bot.webhooks import (
    STATUS,
    Authenticator,
    Outcome,
    Reader,
    WebhookReceiver,
    webhook_handler,
)

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

ROUTE_BATCH = 100
RETENTION_SECONDS = 30 * 24 * 3600
PRUNE_EVERY_SECONDS = 3600.0
RETRY_SECONDS = 1.0


class Announcements:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.sources: dict[str, Source] = {}
        self.worker = DeliveryWorker(core)
        self._new = asyncio.Event()
        self._router: asyncio.Task[None] | None = None
        self._batch_items: dict[str, KnownItem] = {}

    def add_source(self, source: Source) -> None:
        if source.name in self.sources:
            raise RuntimeError(f"event source {source.name} is registered twice")
        self.sources[source.name] = source

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
        server = self.core.server
        handler = webhook_handler(receiver, self.submit, server.read_body)
        server.add_route("POST", path, handler, reads_body=True)

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
        if item in self._batch_items:
            return self._batch_items[item]
        return await self.core.store.known_item(item)

    async def start(self) -> None:
        self._router = self.core.spawn(self._route_forever(), name="router")
        self.worker.start()

    async def drain(self, grace: float) -> None:
        """Stop routing (what is not routed yet is routed after a restart), and give
        deliveries under way up to `grace` seconds to finish."""
        await self._stop_router()
        await self.worker.drain(grace)

    async def close(self) -> None:
        await self.worker.close()
        await self._stop_router()

    async def _stop_router(self) -> None:
        if self._router is not None:
            self._router.cancel()
            await asyncio.gather(self._router, return_exceptions=True)

    async def _route_forever(self) -> None:
        pruned = 0.0
        while True:
            self._new.clear()
            try:
                deliveries = await self.core.store.new_deliveries(ROUTE_BATCH)
                if deliveries:
                    await self._route_batch(deliveries)
                    continue
            except Exception:
                log.exception("routing failed; trying again shortly")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if time.monotonic() - pruned > PRUNE_EVERY_SECONDS:
                dead_days = self.core.settings.dead_delivery_retention_days
                await self.core.store.prune(
                    time.time() - RETENTION_SECONDS, time.time() - dead_days * 86400
                )
                pruned = time.monotonic()
            await self._new.wait()

    async def _route_batch(self, deliveries: list[Delivery]) -> None:
        """Route deliveries in order and record them all in one transaction.

        Items routed earlier in the batch are visible to later deliveries
        (through `known_item`) before they reach the database.
        """
        self._batch_items = {}
        subscriptions: dict[str, list[Subscription]] = {}
        verdicts = []
        for delivery in deliveries:
            if delivery.source not in subscriptions:
                subscriptions[delivery.source] = await self.core.store.active_subscriptions(
                    delivery.source
                )
            verdicts.append(await self._route(delivery, subscriptions[delivery.source]))
        await self.core.store.record_routing(verdicts)
        self._batch_items = {}
        if any(v.routes for v in verdicts):
            self.worker.wake()

    async def _route(self, delivery: Delivery, subscriptions: list[Subscription]) -> Verdict:
        source = self.sources.get(delivery.source)
        try:
            if source is None:
                raise LookupError(f"no cog handles {delivery.source} events now")
            event = await source.normalise(delivery.kind, json.loads(delivery.payload))
        except Exception as error:
            log.exception(
                "%s %s #%d could not be read", delivery.source, delivery.kind, delivery.id
            )
            return Verdict(delivery.id, INBOX_FAILED, f"{type(error).__name__}: {error}")
        if event is None:
            return Verdict(delivery.id, INBOX_IGNORED, "not announced")
        if event.item:
            event = enrich(event, await self.known_item(event.item), source.card_shows)
            self._batch_items[event.item] = KnownItem(event.title, event.url, event.attributes)
        routes = tuple(_routes(event, subscriptions))
        known = (event.item, self._batch_items[event.item]) if event.item else None
        note = f"{len(routes)} channel(s)"
        return Verdict(delivery.id, INBOX_ROUTED, note, event.to_json(), routes, known)


def _routes(event: Event, subscriptions: list[Subscription]) -> list[Route]:
    """One route per channel whose subscriptions match, however many of them do."""
    routes: dict[tuple[str, str], Route] = {}
    for sub in subscriptions:
        lane = (sub.platform, sub.channel_id)
        if lane not in routes and Filter.from_json(sub.filter).matches(event):
            routes[lane] = Route(sub.platform, sub.channel_id, sub.id)
    return list(routes.values())
