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
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.budget import budget
from bot.events import Event, KnownItem, Mode, Source, card_to_json, enrich
from bot.filters import Filter
from bot.i18n import SOURCE, speaking
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
    """A delivery announced before its look-ups answered, in each language it went out in."""

    delivery: Delivery
    events: dict[str, Event]
    known: KnownItem | None
    routes: tuple[Route, ...]

    @property
    def item(self) -> str | None:
        return next(iter(self.events.values())).item


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
        language: Callable[[str, str], Awaitable[str]],
        routed: Callable[[], None],
        budget_seconds: float,
    ) -> None:
        self.name = name
        self.source = source
        self._store = store
        self._known_item = known_item
        self._language = language
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
            lanes = {(s.platform, s.channel_id) for s in subscriptions}
            languages = {lane: await self._language(*lane) for lane in sorted(lanes)}
            verdicts = [await self._route(d, subscriptions, languages) for d in deliveries]
        finally:
            _batch_items.reset(token)
        await self._store().record_routing(verdicts)
        if any(v.routes for v in verdicts):
            self._routed()

    async def _normalise(self, delivery: Delivery, language: str) -> Event | None:
        """The delivery's event, Herald's words in it in `language`."""
        if self.source is None:
            raise LookupError(f"no cog handles {delivery.source} events now")
        with speaking(language):
            event = await self.source.normalise(delivery.kind, json.loads(delivery.payload))
        return replace(event, language=language) if event is not None else None

    def _enrich(self, event: Event, known: KnownItem | None) -> Event:
        card_shows = self.source.card_shows if self.source is not None else ()
        with speaking(event.language):
            return enrich(event, known, card_shows)

    async def _translations(
        self, delivery: Delivery, event: Event, known: KnownItem | None, routes: Sequence[Route]
    ) -> dict[str, Event]:
        """The event in each language `routes` speak; built again only for those `event`
        is not in (most deliveries go to channels that all speak one language)."""
        events: dict[str, Event] = {}
        for language in sorted({r.language for r in routes}):
            built = event if language == event.language else None
            if built is None and (built := await self._normalise(delivery, language)) is not None:
                built = self._enrich(built, known)
            events[language] = built or event
        return events

    async def _route(
        self,
        delivery: Delivery,
        subscriptions: list[Subscription],
        languages: Mapping[tuple[str, str], str],
    ) -> Verdict:
        with budget(self.budget_seconds) as spent:
            try:
                event = await self._normalise(delivery, _usual(languages))
            except Exception as error:
                return _unreadable(delivery, error)
            if event is None:
                return Verdict(delivery.id, INBOX_IGNORED, "not announced")
            known, before = None, None
            if item := event.item:
                before = await self._known_item(item)
                event = self._enrich(event, before)
                known = (item, KnownItem(event.title, event.url, event.attributes))
            routes = tuple(_routes(event, subscriptions, languages))
            try:
                events = await self._translations(delivery, event, before, routes)
            except Exception as error:
                return _unreadable(delivery, error)
        if known is not None:
            items = _batch_items.get()
            if items is not None:
                items[known[0]] = known[1]
            if event.mode is Mode.CARD:
                self._superseded(known[0])
        # A follow-up's card is its item's, posted by an earlier event, unless it came first.
        if spent.late and routes and (event.mode is Mode.CARD or before is None):
            self._wait_for(_Late(delivery, events, before, routes), spent.late)
        note = f"{len(routes)} channel(s)"
        translations = {k: e.to_json() for k, e in events.items() if k != event.language}
        return Verdict(
            delivery.id, INBOX_ROUTED, note, event.to_json(), routes, known, translations
        )

    def _superseded(self, item: str) -> None:
        """A newer card for `item` is routed: late answers about older events are moot."""
        for delivery_id in [i for i, late in self._late.items() if late.item == item]:
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
        """Build a late delivery's event again, in each language it went out in, and send
        the better cards where they went."""
        if self.source is None:
            return
        delivery = late.delivery
        events: dict[str, Event] = {}
        token = _batch_items.set({late.item: late.known} if late.item else {})
        try:
            with budget(self.budget_seconds):
                for language in late.events:
                    if (event := await self._normalise(delivery, language)) is not None:
                        events[language] = self._enrich(event, late.known)
        except Exception:
            log.exception("%s #%d could not be read again", delivery.source, delivery.id)
            return
        finally:
            _batch_items.reset(token)
        better = {
            language: event
            for language, event in events.items()
            if card_to_json(event.card) != card_to_json(late.events[language].card)
        }
        if not better:
            return
        event = next(iter(better.values()))
        known = None
        if event.item:
            now = await self._known_item(event.item)
            attributes = {**(now.attributes if now else {}), **event.attributes}
            known = (event.item, KnownItem(event.title, event.url, attributes))
        amended = await self._store().amend_routing(
            delivery,
            {language: e.to_json() for language, e in better.items()},
            {language: replace(e, mode=Mode.CARD).to_json() for language, e in better.items()},
            [r for r in late.routes if r.language in better],
            known,
        )
        log.info("%s #%d: the card is completed in %d channel(s)", self.name, delivery.id, amended)
        if amended:
            self._routed()


def _unreadable(delivery: Delivery, error: Exception) -> Verdict:
    log.exception("%s %s #%d could not be read", delivery.source, delivery.kind, delivery.id)
    return Verdict(delivery.id, INBOX_FAILED, f"{type(error).__name__}: {error}")


def _usual(languages: Mapping[tuple[str, str], str]) -> str:
    """The language most channels speak (English when there are none)."""
    counted = Counter(languages.values()).most_common(1)
    return counted[0][0] if counted else SOURCE


def _routes(
    event: Event, subscriptions: list[Subscription], languages: Mapping[tuple[str, str], str]
) -> list[Route]:
    """One route per channel whose subscriptions match, however many of them do."""
    routes: dict[tuple[str, str], Route] = {}
    for sub in subscriptions:
        lane = (sub.platform, sub.channel_id)
        if lane not in routes and Filter.from_json(sub.filter).matches(event):
            routes[lane] = Route(sub.platform, sub.channel_id, sub.id, languages[lane])
    return list(routes.values())
