"""The delivery worker: drains the outbox through the platform adapters.

Each channel ("lane") is drained by its own task, so a channel waiting on its
rate limit or on a failing platform holds up no other. Processes sharing a database
share the lanes (`bot.coordination`): a lane is drained by the process that leased it,
which renews the lease while it works (every third of HERALD_LEASE_SECONDS, checked
before each pass and each batch sent), stops at once when the lease turns out lost, and
gives the lane up when it is empty. Another process's notification wakes the dispatcher.
A pass over a lane:

1. re-sends any batch fixed before a failure or a crash, exactly as it was
   fixed;
2. groups the other rows by item: an item whose card is in the channel
   gets its card edited (latest state only) and its follow-ups as lines in
   the thread under it; an item without a card, or an event without an
   item, needs a new message;
3. if the new messages fit the channel's current allowance they go out one
   by one, otherwise they are folded into one digest (and what does not fit
   waits for the next).

Every delivery is first fixed in the outbox (`batch`), and every message is
posted once under a key (`b<batch>:card`, `:digest`, `:thread:<n>`): the
posts table is checked before sending, the platform gets the key as its
idempotency nonce or metadata, and after an answer was lost the platform is
asked whether the key is already there. A crash between "posted" and "marked
done" never doubles a message.

What a failure does depends on what the platform said:

- the message itself was refused (bad blocks, an embed Discord will not
  take): it is sent once more as plain text; refused again, its rows are
  dead and the channel moves on;
- the channel is gone (deleted, archived): its queue is dead (kept, so
  /subscribe can replay it) and its subscriptions paused;
- Herald lost access (removed from the channel, a permission taken away):
  the rows wait, retried from a few seconds doubling to an hour; the admins
  who subscribed the channel are told once by DM, and the lane resumes by
  itself when a post goes through;
- anything else is transient: the lane waits with backoff (or the
  platform's Retry-After).

Only the rows being sent count the attempt; a row tried
`DELIVERY_MAX_ATTEMPTS` times, or older than `DELIVERY_MAX_AGE_HOURS`, is
dead, so no message holds its channel for ever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from bot.backoff import backoff
from bot.coordination import Coordination, Lane
from bot.digest import digest_reply, take_digest, thread_messages, thread_name
from bot.errors import DeliveryError
from bot.events import Event, Mode
from bot.i18n import _, speaking
from bot.logcontext import bound
from bot.metrics import DEAD, EDITED, POSTED, RETRIED
from bot.metrics import DIGEST as DIGESTED
from bot.models import Destination, Posted, Reply
from bot.store import OutboxRow, OutboxStore, Post, SubscriptionStore
from bot.text import channel_mention, escape
from bot.waiting import Spawner, wait_set

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.metrics import Metrics
    from bot.platforms.base import Platform, Platforms

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # the dispatcher's look when nothing wakes it (a lease expired elsewhere)
RECHECK_SECONDS = 0.25
BACKOFF_BASE = 0.5
BACKOFF_MAX = 300.0
ACCESS_FIRST_SECONDS = 5.0
ACCESS_MAX_SECONDS = 3600.0
CARD = "card"
DIGEST = "digest"
LANES_PER_CLAIM = 100


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
    access_lost: bool = False
    renewed: float = 0.0  # time.monotonic() when its lease was last taken or renewed


@dataclass(frozen=True)
class _Sending:
    """One delivery under way: where, under which key, and in which form.

    `look_first` asks the platform whether a message is already there before
    posting it (an earlier answer may have been lost).
    """

    platform: Platform
    to: Destination
    key: str
    since: float
    plain: bool = False
    look_first: bool = False

    def at(self, where: Destination) -> _Sending:
        return replace(self, to=where)


class _LaneLost(Exception):
    """Another process leased the lane: this one stops draining it."""


class _Failed(Exception):
    """A delivery failed; `rows` are the ones it was sending."""

    def __init__(self, error: DeliveryError, rows: Sequence[OutboxRow]) -> None:
        super().__init__(str(error))
        self.error = error
        self.rows = rows


class DeliveryStore(OutboxStore, SubscriptionStore, Protocol):
    """What delivering needs of the store: the outbox, and who subscribed a channel."""


class DeliveryWorker:
    """Drains the outbox: one task per channel with announcements due.

    `store` gives the store once it is open, `coordination` the lanes this process
    may drain; `spawn` runs the lanes.
    """

    def __init__(
        self,
        store: Callable[[], DeliveryStore],
        coordination: Callable[[], Coordination],
        platforms: Platforms,
        spawn: Spawner,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self._store = store
        self._coordination = coordination
        self.platforms = platforms
        self.spawn = spawn
        self.metrics = metrics
        self.settings = settings
        self._wake = asyncio.Event()
        self._lanes: dict[Lane, _LaneTask] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._draining = False
        # Keys of batches this process saw refused outright: nothing of theirs is out there.
        self._surely_unsent: set[str] = set()

    @property
    def store(self) -> DeliveryStore:
        return self._store()

    @property
    def coordination(self) -> Coordination:
        return self._coordination()

    def start(self) -> None:
        self.coordination.on_wake(self.wake)
        self._dispatcher = self.spawn(self._dispatch(), name="delivery")

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
            await wait_set(self._wake, max(wait, 0.01))

    async def _start_due_lanes(self) -> float:
        """Start a task for every lane with rows due this process may drain; seconds
        until the next row is due."""
        platforms = [p.name for p in self.platforms.platforms]
        claimed_at, now = time.monotonic(), time.time()
        claimed = await self.coordination.claim_lanes(platforms, now, LANES_PER_CLAIM)
        for lane in claimed:
            if lane not in self._lanes:
                state = self._lanes[lane] = _LaneTask(renewed=claimed_at)
                with bound(platform=lane[0]):
                    state.task = self.spawn(self._drain(lane, state), name=f"lane {lane}")
        next_due = await self.store.next_due(platforms)
        if next_due is None or (next_due <= now and not claimed):
            return IDLE_SECONDS  # what is due is other processes' to deliver
        # A row already due belongs to a lane still running: it wakes the dispatcher when
        # it ends, and a short second look covers a lane that ended in between.
        return min(IDLE_SECONDS, max(next_due - time.time(), RECHECK_SECONDS))

    async def _drain(self, lane: Lane, state: _LaneTask) -> None:
        try:
            state.access_lost = await self.store.has_lost_access(*lane)
            while not self._draining:
                state.poked = False
                if not await self._pass(lane, state) and not state.poked:
                    break
            await self.coordination.release_lane(lane)
        except _LaneLost:
            log.info("%s:%s is delivered by another process now", *lane)
        finally:
            self._lanes.pop(lane, None)
            self._wake.set()  # the dispatcher recomputes when this lane is next due

    async def _pass(self, lane: Lane, state: _LaneTask) -> bool:
        """Deliver what is due in one channel; False when nothing was due."""
        await self._keep_lease(lane)
        platform = self.platforms.platform(lane[0])
        rows = await self.store.lane_rows(*lane, time.time())
        if platform is None or not rows:
            return False
        if any(r.created_at < self._oldest_allowed() for r in rows):
            await self._expire(lane)
            return True
        to = Destination(*lane)
        try:
            for batch, kind in _fixed_batches(rows):
                await self._send(platform, to, batch, kind)
            news: list[_Group] = []
            for group in _groups([r for r in rows if r.batch is None]):
                if group.item and await self.store.card(*lane, group.item):
                    await self._fix_and_send(platform, to, group.rows, CARD)
                else:
                    news.append(group)
            if news:
                await self._send_new(platform, to, news)
        except _Failed as failed:
            await self._failed(lane, state, failed.rows, failed.error)
            return True
        except _LaneLost:
            raise
        except Exception as error:
            log.exception("delivery to %s:%s failed unexpectedly", *lane)
            failure = DeliveryError(f"{type(error).__name__}: {error}")
            await self._failed(lane, state, rows[:1], failure)
            return True
        if state.access_lost:
            state.access_lost = False
            if await self.store.access_back(*lane):
                log.info("%s:%s takes announcements again", *lane)
        return True

    async def _keep_lease(self, lane: Lane) -> None:
        """Renew the lane's lease once a third of it has passed; `_LaneLost` when another
        process has the lane now."""
        coordination, state = self.coordination, self._lanes[lane]
        asked = time.monotonic()
        if asked - state.renewed < coordination.lease_seconds / 3:
            return
        if not await coordination.renew_lane(lane):
            raise _LaneLost
        state.renewed = asked

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
        await self.store.assign_batch([r.id for r in rows], rows[0].id, kind)
        await self._send(platform, to, rows, kind)

    async def _send(
        self, platform: Platform, to: Destination, rows: Sequence[OutboxRow], kind: str
    ) -> None:
        """Deliver one batch; a message refused for its content goes again as plain text,
        and refused again its rows are dead. Other failures raise `_Failed`."""
        await self._keep_lease((to.platform, to.channel_id))
        batch = rows[0].batch or rows[0].id
        key = f"b{batch}"
        sending = _Sending(
            platform,
            to,
            key,
            since=min(r.created_at for r in rows),
            look_first=rows[0].batch is not None and key not in self._surely_unsent,
        )
        where = f"{to.platform}:{to.channel_id}"
        with bound(delivery=key):
            refused = await self._try(sending, rows, kind)
            if refused is not None:
                log.warning("%s refused b%d (%s); sending it as plain text", where, batch, refused)
                again = await self._try(replace(sending, plain=True), rows, kind)
                if again is not None:
                    log.error(
                        "%s refused b%d as plain text too (%s); it is dead", where, batch, again
                    )
                    reason = f"{refused}; as plain text: {again}"
                    await self.store.drop([r.id for r in rows], reason)
                    self.metrics.undelivered(to.platform, DEAD, len(rows))
        self._surely_unsent.discard(key)

    async def _try(
        self, sending: _Sending, rows: Sequence[OutboxRow], kind: str
    ) -> DeliveryError | None:
        """Send and mark done; the refusal when the platform will not take this message."""
        try:
            post, outcome = await self._deliver(sending, rows, kind)
        except DeliveryError as error:
            if error.bad_message:
                return error
            if error.ambiguous:
                self._surely_unsent.discard(sending.key)
            else:
                self._surely_unsent.add(sending.key)
            raise _Failed(error, rows) from None
        except Exception as error:
            # A message Herald cannot even build or send is as undeliverable as a refused one.
            log.exception("%s could not be sent", sending.key)
            return DeliveryError(f"{type(error).__name__}: {error}", bad_message=True)
        await self.store.complete([r.id for r in rows], post)
        self.metrics.delivered(sending.to.platform, outcome, [r.received_at for r in rows])
        return None

    async def _deliver(
        self, sending: _Sending, rows: Sequence[OutboxRow], kind: str
    ) -> tuple[Post | None, str]:
        """Post what the rows say, in their channel's language; the digest's post, to be
        recorded with them, and how they went out (`posted`, `edited`, `digest`)."""
        groups = _groups(rows)
        with speaking(groups[0].events[0].language):
            if kind == DIGEST:
                digest = digest_reply([g.events for g in groups])
                return await self._post_once(sending, ":digest", digest), DIGESTED
            return None, await self._send_item(sending, groups[0])

    async def _send_item(self, sending: _Sending, group: _Group) -> str:
        """Post or edit the item's card, then add its follow-ups in the thread under it;
        `edited` when the card already in the channel was edited, else `posted`."""
        to = sending.to
        events = group.events
        updates = [e for e in events if e.mode is Mode.CARD]
        primary = updates[-1] if updates else events[0]
        card = await self.store.card(to.platform, to.channel_id, group.item) if group.item else None
        outcome = POSTED
        if card is None or card.key == f"{sending.key}:card":
            card = card or await self._post_once(
                sending, ":card", Reply(card=primary.card), item=group.item
            )
            follow_ups = [e for e in events if e.mode is Mode.FOLLOW_UP and e is not primary]
        else:
            if updates:
                edited = await self._edit_card(sending, card, primary)
                outcome = EDITED if edited.key == card.key else POSTED
                card = edited
            follow_ups = [e for e in events if e.mode is Mode.FOLLOW_UP]
        if follow_ups:
            await self._follow_up(sending, card, primary, [e.line for e in follow_ups])
        return outcome

    async def _edit_card(self, sending: _Sending, card: Post, event: Event) -> Post:
        to = sending.to
        try:
            await sending.platform.edit(
                Posted(to.platform, to.channel_id, card.message_id),
                Reply(card=event.card),
                plain=sending.plain,
            )
        except DeliveryError as error:
            if error.bad_message or not error.permanent:
                raise
            log.info("card %s for %s is gone (%s); posting a new one", card.key, card.item, error)
            await self.store.forget_card(card.key)
            return await self._post_once(sending, ":card", Reply(card=event.card), item=card.item)
        return card

    async def _follow_up(
        self, sending: _Sending, card: Post, about: Event, lines: list[str]
    ) -> None:
        """Lines in the thread under the card; in the channel when no thread can take them."""
        thread = await self._thread(sending, card, about)
        if thread is not None:
            try:
                await self._post_lines(sending.at(thread), lines)
                return
            except DeliveryError as error:
                if error.bad_message or not (error.permanent or error.access_lost):
                    raise
                log.info(
                    "the thread under %s takes nothing (%s); following up in the channel",
                    card.key,
                    error,
                )
                if error.permanent:
                    await self.store.set_thread(card.key, None)
        await self._post_lines(sending, lines)

    async def _thread(self, sending: _Sending, card: Post, about: Event) -> Destination | None:
        """The thread under the card, started if needed; None where threads are refused."""
        to = sending.to
        if card.thread_id:
            return Destination(to.platform, to.channel_id, card.thread_id)
        try:
            thread = await sending.platform.open_thread(
                Posted(to.platform, to.channel_id, card.message_id), thread_name(about)
            )
        except DeliveryError as error:
            if not (error.permanent or error.access_lost):
                raise
            log.info("no thread under %s (%s); following up in the channel", card.key, error)
            return None
        await self.store.set_thread(card.key, thread.thread_id)
        return thread

    async def _post_lines(self, sending: _Sending, lines: list[str]) -> None:
        for index, text in enumerate(thread_messages(lines)):
            await self._post_once(sending, f":thread:{index}", Reply(text=text))

    async def _post_once(
        self, sending: _Sending, suffix: str, reply: Reply, *, item: str | None = None
    ) -> Post:
        """Post under the key unless the posts table, or the platform when an earlier
        answer may have been lost, says it was posted already."""
        key = sending.key + suffix
        if (done := await self.store.post(key)) is not None:
            return done
        platform, to = sending.platform, sending.to
        posted = None
        with bound(delivery=key):
            if sending.look_first:
                posted = await platform.find_posted(to, key, sending.since)
                if posted is not None:
                    log.info("%s was posted already (its answer was lost)", key)
            if posted is None:
                posted = await platform.post(to, reply, key=key, plain=sending.plain)
                log.debug("%s posted to %s:%s", key, to.platform, to.channel_id)
        post = Post(key, to.platform, to.channel_id, posted.message_id, item)
        await self.store.record_post(post)
        return post

    async def _failed(
        self, lane: Lane, state: _LaneTask, rows: Sequence[OutboxRow], error: DeliveryError
    ) -> None:
        """Count the attempt for the rows that failed and hold the lane; see the module doc."""
        store = self.store
        if error.permanent:
            dead = await store.give_up(*lane, str(error))
            self.metrics.undelivered(lane[0], DEAD, dead)
            await store.access_back(*lane)  # gone, rather than shut out
            log.warning(
                "%s:%s is gone (%s): %d announcement(s) dead, its subscriptions paused",
                *lane,
                error,
                dead,
            )
            return
        attempts = max((r.attempts for r in rows), default=0) + 1
        if error.access_lost:
            first, cap = ACCESS_FIRST_SECONDS, ACCESS_MAX_SECONDS
            state.access_lost = True
            if await store.access_lost(*lane, str(error)):
                await self._tell_admins(lane, error)
        else:
            first, cap = BACKOFF_BASE, BACKOFF_MAX
        delay = backoff(attempts, first=first, cap=cap, server_delay=error.retry_after)
        log.warning("%s:%s: %s; trying again in %.1f s", *lane, error, delay)
        await store.retry_later(*lane, [r.id for r in rows], time.time() + delay, str(error))
        self.metrics.undelivered(lane[0], RETRIED, len(rows))
        await self._expire(lane)

    async def _expire(self, lane: Lane) -> None:
        """Give up the lane's rows tried too often or waiting too long."""
        settings = self.settings
        too_old = f"not delivered within {settings.delivery_max_age_hours:g} h"
        dead = await self.store.expire(
            *lane, settings.delivery_max_attempts, self._oldest_allowed(), too_old
        )
        self.metrics.undelivered(lane[0], DEAD, dead)
        if dead:
            log.error("%s:%s: %d announcement(s) given up, see /herald deliveries", *lane, dead)

    def _oldest_allowed(self) -> float:
        return time.time() - self.settings.delivery_max_age_hours * 3600

    async def _tell_admins(self, lane: Lane, error: DeliveryError) -> None:
        """DM whoever subscribed the channel, once per outage."""
        platform = self.platforms.platform(lane[0])
        subscriptions = await self.store.channel_subscriptions(*lane)
        admins = sorted({s.created_by for s in subscriptions if s.created_by})
        lost = _(
            "Herald can no longer post in {channel} ({error}). Its announcements are kept and"
            " go out by themselves once Herald may post there again: add Herald to the"
            " channel, or give it back the permission to send messages.",
            channel=channel_mention(lane[1]),
            error=escape(str(error)),
        )
        text = f"⚠️ {lost}"
        for admin in admins:
            try:
                if platform is not None:
                    await platform.direct(admin, Reply(text=text))
            except DeliveryError as failed:
                log.warning("could not tell %s about %s:%s: %s", admin, *lane, failed)


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
