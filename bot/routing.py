"""Routing one source's deliveries: inbox rows in, outbox rows out.

Each source has its own router task, so one service's slow look-ups never
hold up another's announcements. A router reads its source's new inbox rows
in order, asks the `Source` for the neutral `Event` within a time budget for
look-ups, completes it from what is known about its item, matches it
against the active subscriptions and queues one outbox row per channel, all
in one transaction.

A delivery whose look-ups ran past the budget is announced with what its
payload says. When those look-ups answer, the router builds its event again;
if the card came out better, the channels get it: a row still waiting takes
the better card, a card already posted is edited in place (an outbox row of
a later `CARD` event for the same item, as the delivery worker already
handles). An event about the item routed in between wins: it is newer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.budget import budget
from bot.events import Event, KnownItem, Mode, Source, card_to_json, enrich
from bot.filters import Filter
from bot.store import (
    INBOX_FAILED,
    INBOX_IGNORED,
    INBOX_ROUTED,
    Delivery,
    InboxStore,
    Route,
    Subscription,
    SubscriptionStore,
    Verdict,
)

log = logging.getLogger(__name__)

ROUTE_BATCH = 100
RETRY_SECONDS = 1.0

_batch_items: ContextVar[dict[str, KnownItem | None] | None] = ContextVar(
    "batch items", default=None
)


async def known_before(
    item: str, stored: Callable[[str], Awaitable[KnownItem | None]]
) -> KnownItem | None:
    """What was known of `item` before the delivery being routed (in this task).

    Items routed earlier in the batch are seen before they reach the
    database; an event built again late sees what its first build saw.
    """
    items = _batch_items.get()
    if items is not None and item in items:
        return items[item]
    return await stored(item)


@dataclass
class _Late:
    """A delivery announced before its look-ups answered."""

    delivery: Delivery
    event: Event
    known: KnownItem | None
    routes: tuple[Route, ...]


class RoutingStore(InboxStore, SubscriptionStore, Protocol):
    """What routing needs of the store: the inbox, and who subscribed to what."""


class SourceRouter:
    """Routes the deliveries of one source, in order, in its own task."""

    def __init__(
        self,
        name: str,
        source: Source | None,
        store: Callable[[], RoutingStore],
        known_item: Callable[[str], Awaitable[KnownItem | None]],
        routed: Callable[[], None],
        budget_seconds: float,
    ) -> None:
        self.name = name
        self.source = source
        self._store = store
        self._known_item = known_item
        self._routed = routed
        self.budget_seconds = budget_seconds
        self._new = asyncio.Event()
        self._late: dict[int, _Late] = {}
        self._answered: list[int] = []
        self._waiters: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._new.set()

    def close(self) -> None:
        for waiter in self._waiters:
            waiter.cancel()

    async def run(self) -> None:
        while True:
            self._new.clear()
            try:
                if self._answered:
                    await self._refresh_answered()
                    continue
                deliveries = await self._store().new_deliveries(ROUTE_BATCH, self.name)
                if deliveries:
                    await self._route_batch(deliveries)
                    continue
            except Exception:
                log.exception("routing %s failed; trying again shortly", self.name)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self._new.wait()

    async def _route_batch(self, deliveries: list[Delivery]) -> None:
        """Route deliveries in order and record them all in one transaction.

        Items routed earlier in the batch are visible to later deliveries
        (through `known_item`) before they reach the database.
        """
        token = _batch_items.set({})
        try:
            subscriptions = await self._store().active_subscriptions(self.name)
            verdicts = [await self._route(d, subscriptions) for d in deliveries]
        finally:
            _batch_items.reset(token)
        await self._store().record_routing(verdicts)
        if any(v.routes for v in verdicts):
            self._routed()

    async def _route(self, delivery: Delivery, subscriptions: list[Subscription]) -> Verdict:
        try:
            if self.source is None:
                raise LookupError(f"no cog handles {delivery.source} events now")
            with budget(self.budget_seconds) as spent:
                event = await self.source.normalise(delivery.kind, json.loads(delivery.payload))
        except Exception as error:
            log.exception(
                "%s %s #%d could not be read", delivery.source, delivery.kind, delivery.id
            )
            return Verdict(delivery.id, INBOX_FAILED, f"{type(error).__name__}: {error}")
        if event is None:
            return Verdict(delivery.id, INBOX_IGNORED, "not announced")
        known, before = None, None
        if item := event.item:
            before = await self._known_item(item)
            event = enrich(event, before, self.source.card_shows)
            known = (item, KnownItem(event.title, event.url, event.attributes))
            items = _batch_items.get()
            if items is not None:
                items[item] = known[1]
            if event.mode is Mode.CARD:
                self._superseded(item)
        routes = tuple(_routes(event, subscriptions))
        # A follow-up's card is its item's, posted by an earlier event, unless it came first.
        if spent.late and routes and (event.mode is Mode.CARD or before is None):
            self._wait_for(_Late(delivery, event, before, routes), spent.late)
        note = f"{len(routes)} channel(s)"
        return Verdict(delivery.id, INBOX_ROUTED, note, event.to_json(), routes, known)

    def _superseded(self, item: str) -> None:
        """A newer card for `item` is routed: late answers about older events are moot."""
        for delivery_id in [i for i, late in self._late.items() if late.event.item == item]:
            del self._late[delivery_id]

    def _wait_for(self, late: _Late, look_ups: list[asyncio.Future[Any]]) -> None:
        self._late[late.delivery.id] = late

        async def wait() -> None:
            await asyncio.gather(*look_ups, return_exceptions=True)
            self._answered.append(late.delivery.id)
            self._new.set()

        waiter = asyncio.create_task(wait(), name=f"late look-ups of #{late.delivery.id}")
        self._waiters.add(waiter)
        waiter.add_done_callback(self._waiters.discard)

    async def _refresh_answered(self) -> None:
        answered, self._answered = self._answered, []
        for delivery_id in answered:
            late = self._late.pop(delivery_id, None)
            if late is not None:
                await self._refresh(late)

    async def _refresh(self, late: _Late) -> None:
        """Build a late delivery's event again and send the better card where it went."""
        if self.source is None:
            return
        delivery = late.delivery
        token = _batch_items.set({late.event.item: late.known} if late.event.item else {})
        try:
            with budget(self.budget_seconds):
                event = await self.source.normalise(delivery.kind, json.loads(delivery.payload))
        except Exception:
            log.exception("%s #%d could not be read again", delivery.source, delivery.id)
            return
        finally:
            _batch_items.reset(token)
        if event is None:
            return
        if event.item:
            event = enrich(event, late.known, self.source.card_shows)
        if card_to_json(event.card) == card_to_json(late.event.card):
            return
        known = None
        if event.item:
            now = await self._known_item(event.item)
            attributes = {**(now.attributes if now else {}), **event.attributes}
            known = (event.item, KnownItem(event.title, event.url, attributes))
        edit = replace(event, mode=Mode.CARD)
        amended = await self._store().amend_routing(
            delivery, event.to_json(), edit.to_json(), late.routes, known
        )
        log.info("%s #%d: the card is completed in %d channel(s)", self.name, delivery.id, amended)
        if amended:
            self._routed()


def _routes(event: Event, subscriptions: list[Subscription]) -> list[Route]:
    """One route per channel whose subscriptions match, however many of them do."""
    routes: dict[tuple[str, str], Route] = {}
    for sub in subscriptions:
        lane = (sub.platform, sub.channel_id)
        if lane not in routes and Filter.from_json(sub.filter).matches(event):
            routes[lane] = Route(sub.platform, sub.channel_id, sub.id)
    return list(routes.values())
