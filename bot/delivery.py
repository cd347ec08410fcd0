"""The delivery worker: drains the outbox through the platform adapters.

Each channel ("lane") is drained by its own task, so a channel waiting on its
rate limit or on a failing platform holds up no other. A pass over a lane:

1. re-sends any batch fixed before a crash, exactly as it was fixed;
2. groups the other rows by item: an item whose card is in the channel
   gets its card edited (latest state only) and its follow-ups as lines in
   the thread under it; an item without a card, or an event without an
   item, needs a new message;
3. if the new messages fit the channel's current allowance they go out one
   by one, otherwise they are folded into one digest (and what does not fit
   waits for the next).

Every delivery is first fixed in the outbox (`batch`), and every message is
posted once under a key (`b<batch>:card`, `:digest`, `:thread:<n>`): the
posts table is checked before sending and the platform gets the key as its
idempotency nonce, so a crash between "posted" and "marked done" never
doubles a message. Transient failures hold the whole lane with jittered
exponential backoff (or the platform's Retry-After), for as long as it
takes; a permanent one (channel gone, access lost) marks the lane's queue
dead and pauses its subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.backoff import backoff
from bot.digest import digest_reply, take_digest, thread_messages, thread_name
from bot.errors import DeliveryError
from bot.events import Event, Mode
from bot.models import Destination, Posted, Reply
from bot.store import OutboxRow, Post

if TYPE_CHECKING:
    from bot.core import Core, Platform

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0
BACKOFF_BASE = 0.5
BACKOFF_MAX = 300.0
CARD = "card"
DIGEST = "digest"

Lane = tuple[str, str]


@dataclass
class _Group:
    """Rows about one item (or one item-less row), in order."""

    rows: list[OutboxRow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def item(self) -> str | None:
        return self.rows[0].item


@dataclass
class _LaneTask:
    task: asyncio.Task[None] | None = None
    poked: bool = False


class DeliveryWorker:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._wake = asyncio.Event()
        self._lanes: dict[Lane, _LaneTask] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._draining = False

    def start(self) -> None:
        self._dispatcher = self.core.spawn(self._dispatch(), name="delivery")

    def wake(self) -> None:
        """New rows were queued: running lanes look again, the dispatcher starts others."""
        for lane in self._lanes.values():
            lane.poked = True
        self._wake.set()

    async def drain(self, grace: float) -> None:
        """Start no new lane, and give running ones up to `grace` s to end their pass."""
        self._draining = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        running = [lane.task for lane in self._lanes.values() if lane.task]
        if running:
            await asyncio.wait(running, timeout=grace)

    async def close(self) -> None:
        tasks = [t for t in (self._dispatcher, *(lane.task for lane in self._lanes.values())) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _dispatch(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self._start_due_lanes()
            except Exception:
                log.exception("the delivery dispatcher failed; trying again shortly")
                wait = IDLE_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.01))

    async def _start_due_lanes(self) -> float:
        """Start a task for every channel with rows due; seconds until the next is due."""
        store = self.core.store
        platforms = [p.name for p in self.core.platforms]
        for lane in await store.due_lanes(platforms, time.time()):
            if lane not in self._lanes:
                state = self._lanes[lane] = _LaneTask()
                state.task = self.core.spawn(self._drain(lane, state), name=f"lane {lane}")
        next_due = await store.next_due(platforms)
        if next_due is not None and next_due > time.time():
            return min(IDLE_SECONDS, next_due - time.time())
        return IDLE_SECONDS

    async def _drain(self, lane: Lane, state: _LaneTask) -> None:
        try:
            while not self._draining:
                state.poked = False
                if not await self._pass(lane) and not state.poked:
                    return
        finally:
            self._lanes.pop(lane, None)
            self._wake.set()  # the dispatcher recomputes when this lane is next due

    async def _pass(self, lane: Lane) -> bool:
        """Deliver what is due in one channel; False when nothing was due."""
        platform = self.core.platform(lane[0])
        rows = await self.core.store.lane_rows(*lane, time.time())
        if platform is None or not rows:
            return False
        to = Destination(*lane)
        try:
            for batch, kind in _fixed_batches(rows):
                await self._send(platform, to, batch, kind)
            news: list[_Group] = []
            for group in _groups([r for r in rows if r.batch is None]):
                if group.item and await self.core.store.card(*lane, group.item):
                    await self._fix_and_send(platform, to, group.rows, CARD)
                else:
                    news.append(group)
            if news:
                await self._send_new(platform, to, news)
        except DeliveryError as error:
            await self._failed(lane, rows, error)
        except Exception as error:
            log.exception("delivery to %s:%s failed unexpectedly", *lane)
            await self._failed(lane, rows, DeliveryError(f"{type(error).__name__}: {error}"))
        return True

    async def _send_new(self, platform: Platform, to: Destination, news: list[_Group]) -> None:
        """New messages: one by one while the channel allows, else one digest."""
        room = platform.capacity(to)
        if room == 0:
            await asyncio.sleep(platform.ready_in(to))
            return
        if len(news) <= room:
            for group in news:
                await self._fix_and_send(platform, to, group.rows, CARD)
            return
        count = take_digest([g.events for g in news])
        rows = [row for g in news for row in g.rows][:count]
        await self._fix_and_send(platform, to, rows, DIGEST)

    async def _fix_and_send(
        self, platform: Platform, to: Destination, rows: list[OutboxRow], kind: str
    ) -> None:
        await self.core.store.assign_batch([r.id for r in rows], rows[0].id, kind)
        await self._send(platform, to, rows, kind)

    async def _send(
        self, platform: Platform, to: Destination, rows: Sequence[OutboxRow], kind: str
    ) -> None:
        key = f"b{rows[0].id}"
        ids = [r.id for r in rows]
        try:
            if kind == DIGEST:
                groups = [g.events for g in _groups(rows)]
                post = await self._post_once(platform, to, f"{key}:digest", digest_reply(groups))
                await self.core.store.complete(ids, post)
                return
            await self._send_item(platform, to, _groups(rows)[0], key)
        except DeliveryError as error:
            if not error.bad_message:
                raise
            # The channel is fine but will never take this message: drop it alone.
            log.error(
                "%s:%s refused %s (%s); its events are dropped",
                to.platform,
                to.channel_id,
                key,
                error,
            )
            await self.core.store.drop(ids, str(error))
            return
        await self.core.store.complete(ids)

    async def _send_item(
        self, platform: Platform, to: Destination, group: _Group, key: str
    ) -> None:
        """Post or edit the item's card, then add its follow-ups in the thread under it."""
        events = group.events
        updates = [e for e in events if e.mode is Mode.CARD]
        primary = updates[-1] if updates else events[0]
        card = (
            await self.core.store.card(to.platform, to.channel_id, group.item)
            if group.item
            else None
        )
        if card is None or card.key == f"{key}:card":
            card = card or await self._post_once(
                platform, to, f"{key}:card", Reply(card=primary.card), item=group.item
            )
            follow_ups = [e for e in events if e.mode is Mode.FOLLOW_UP and e is not primary]
        else:
            if updates:
                card = await self._edit_card(platform, to, card, primary, key)
            follow_ups = [e for e in events if e.mode is Mode.FOLLOW_UP]
        if follow_ups:
            await self._follow_up(platform, to, card, primary, [e.line for e in follow_ups], key)

    async def _edit_card(
        self, platform: Platform, to: Destination, card: Post, event: Event, key: str
    ) -> Post:
        try:
            await platform.edit(
                Posted(to.platform, to.channel_id, card.message_id), Reply(card=event.card)
            )
        except DeliveryError as error:
            if not error.permanent:
                raise
            log.info("card %s for %s is gone (%s); posting a new one", card.key, card.item, error)
            await self.core.store.forget_card(card.key)
            return await self._post_once(
                platform, to, f"{key}:card", Reply(card=event.card), item=card.item
            )
        return card

    async def _follow_up(
        self,
        platform: Platform,
        to: Destination,
        card: Post,
        about: Event,
        lines: list[str],
        key: str,
    ) -> None:
        """Lines in the thread under the card; in the channel when no thread can take them."""
        thread = await self._thread(platform, to, card, about)
        if thread is not None:
            try:
                await self._post_lines(platform, thread, lines, key)
                return
            except DeliveryError as error:
                if not error.permanent:
                    raise
                log.info(
                    "the thread under %s is gone (%s); following up in the channel", card.key, error
                )
                await self.core.store.set_thread(card.key, None)
        await self._post_lines(platform, to, lines, key)

    async def _thread(
        self, platform: Platform, to: Destination, card: Post, about: Event
    ) -> Destination | None:
        """The thread under the card, started if needed; None where threads are refused."""
        if card.thread_id:
            return Destination(to.platform, to.channel_id, card.thread_id)
        try:
            thread = await platform.open_thread(
                Posted(to.platform, to.channel_id, card.message_id), thread_name(about)
            )
        except DeliveryError as error:
            if not error.permanent:
                raise
            log.info("no thread under %s (%s); following up in the channel", card.key, error)
            return None
        await self.core.store.set_thread(card.key, thread.thread_id)
        return thread

    async def _post_lines(
        self, platform: Platform, where: Destination, lines: list[str], key: str
    ) -> None:
        for index, text in enumerate(thread_messages(lines)):
            await self._post_once(platform, where, f"{key}:thread:{index}", Reply(text=text))

    async def _post_once(
        self,
        platform: Platform,
        to: Destination,
        key: str,
        reply: Reply,
        *,
        item: str | None = None,
    ) -> Post:
        """Post under `key` unless the posts table says it was posted already."""
        if (done := await self.core.store.post(key)) is not None:
            return done
        posted = await platform.post(to, reply, key=key)
        post = Post(key, to.platform, to.channel_id, posted.message_id, item)
        await self.core.store.record_post(post)
        return post

    async def _failed(self, lane: Lane, rows: Sequence[OutboxRow], error: DeliveryError) -> None:
        store = self.core.store
        if error.permanent:
            dead = await store.give_up(*lane, str(error))
            log.warning(
                "%s:%s refuses announcements (%s): %d dropped, its subscriptions paused",
                *lane,
                error,
                dead,
            )
            return
        attempts = max((r.attempts for r in rows), default=0) + 1
        delay = backoff(
            attempts, first=BACKOFF_BASE, cap=BACKOFF_MAX, server_delay=error.retry_after
        )
        log.warning("%s:%s: %s; trying again in %.1f s", *lane, error, delay)
        await store.retry_later(*lane, [r.id for r in rows], time.time() + delay, str(error))


def _event(row: OutboxRow) -> Event:
    return Event.from_json(json.loads(row.event))


def _groups(rows: Sequence[OutboxRow]) -> list[_Group]:
    """Rows grouped by item, in order of each item's first row."""
    groups: dict[str, _Group] = {}
    for row in rows:
        group = groups.setdefault(row.item or f"row:{row.id}", _Group())
        group.rows.append(row)
        group.events.append(_event(row))
    return list(groups.values())


def _fixed_batches(rows: Sequence[OutboxRow]) -> list[tuple[list[OutboxRow], str]]:
    """Batches fixed before an interruption, to be sent again exactly as they were."""
    batches: dict[int, list[OutboxRow]] = {}
    for row in rows:
        if row.batch is not None:
            batches.setdefault(row.batch, []).append(row)
    return [(b, b[0].batch_kind or CARD) for b in batches.values()]
