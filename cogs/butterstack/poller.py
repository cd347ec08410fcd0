"""Watching ButterStack: every project's builds and deployments, within one rate limit.

ButterStack sends no webhooks, so Herald reads `GET /projects/{id}/builds`
and `/deployments` (newest first) in turns: one loop, one request at a time.
A feed with pending or running items is due every `BUTTERSTACK_POLL_SECONDS`,
an idle one `IDLE_FACTOR` times less often. Every request waits on the rate
limiter all projects share. When there is more to read than the quota
allows, the feed read next is the one most overdue for its interval: every
feed slows down by the same factor, so busy feeds keep being read
`IDLE_FACTOR` times as often as idle ones and none starves. Changelists only
decorate cards: while the poller is behind, they get a small share of the
quota (`SPARE_SHARE`) and the rest of the cards show the bare number until a
later edit. A quiet feed never costs more than one request per reading.

A reading pages back (`limit`/`offset`) until it reaches an item it already
knows, so a burst of new builds between two readings loses none; open items
that have slipped off those pages are fetched one by one. What each item last
looked like is stored, so after a restart a change made while Herald was down
is announced (a build that finished meanwhile, as finished) and nothing old is
announced again. The first reading of a feed records what is there without
announcing it, except what is still pending or running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from bot.coordination import Coordination, Job
from bot.errors import ServiceError
from bot.polling import Problems, Submit
from bot.ratelimit import RateLimiter
from bot.store import PolledItem, PollingStore
from bot.waiting import wait_set
from cogs.butterstack.cards import progress_step
from cogs.butterstack.client import MAX_PAGE, ButterStackClient, Changelists
from cogs.butterstack.durations import TypicalDurations
from cogs.butterstack.events import (
    SOURCE,
    build_item,
    build_payload,
    deployment_item,
    deployment_payload,
    feed_name,
)
from cogs.butterstack.models import (
    OPEN_BUILD,
    OPEN_DEPLOYMENT,
    RUNNING,
    SUCCESS,
    Build,
    Changelist,
    Dated,
    Deployment,
    newest_first,
)

log = logging.getLogger(__name__)

BUILDS, DEPLOYMENTS = "builds", "deployments"
PAGE = MAX_PAGE
MAX_PAGES = 10  # a reading pages back at most this far (1000 new items)
IDLE_FACTOR = 4
DIRECT_FETCHES = 5  # open items no longer on the first pages, fetched one by one per reading
CHANGELIST_FETCHES = 2  # changelists fetched per reading for cards; the rest use the cache
SPARE_SHARE = 0.1  # of the quota, for changelists while feeds are overdue
BEHIND = 0.25  # a feed overdue by this part of its interval means the poller is behind
KEEP_ITEMS = 500  # finished items remembered per feed
TRIM_EVERY = 3600.0
GONE = "gone"  # an open item ButterStack no longer knows

T = TypeVar("T")
Submission = tuple[str, dict[str, Any], str]
"""What to submit about an item: event kind, payload, item key."""


class Watched(Dated, Protocol):
    """A build or a deployment, as the poller compares them."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def is_open(self) -> bool: ...


class Tracker(Protocol):
    """How the poller reads, compares and announces one kind of item."""

    kind: str
    open_states: Sequence[str]

    async def page(self, project: str, offset: int) -> Sequence[Watched]: ...

    async def one(self, project: str, item_id: str) -> Watched | None: ...

    async def signature(self, item: Any) -> str: ...

    async def submission(self, item: Any) -> Submission: ...

    def data(self, item: Any, signature: str) -> dict[str, Any]: ...


async def unless_gone(fetch: Awaitable[T]) -> T | None:
    """What `fetch` finds, or None when ButterStack no longer knows it (404)."""
    try:
        return await fetch
    except ServiceError as error:
        if error.status == 404:
            return None
        raise


@dataclass
class Feed:
    """One project's builds or deployments, with when to read them next."""

    project: str
    kind: str
    due: float = 0.0
    active: bool = True
    primed: bool = False  # read before, by this process or an earlier one

    @property
    def name(self) -> str:
        return feed_name(self.project, self.kind)


@dataclass
class Sighting:
    """What one reading found: items oldest first, what was known of them, what is new."""

    known: dict[str, PolledItem]
    fresh: set[str]
    unresolved: int  # open items neither on the pages nor fetched this time
    seen: list[Watched] = field(default_factory=list)
    gone: list[PolledItem] = field(default_factory=list)


class BuildTracker:
    """Builds: announced on each status change, and a running build at each quarter
    of its platform's typical duration, so its progress bar moves."""

    kind = BUILDS
    open_states: Sequence[str] = OPEN_BUILD

    def __init__(
        self,
        api: ButterStackClient,
        changelists: Changelists,
        durations: TypicalDurations,
        may_fetch: Callable[[], bool],
    ) -> None:
        self.api = api
        self.changelists = changelists
        self.durations = durations
        self.may_fetch = may_fetch
        self.fetches_left = CHANGELIST_FETCHES

    async def page(self, project: str, offset: int) -> Sequence[Build]:
        return await self.api.builds(project, limit=PAGE, offset=offset)

    async def one(self, project: str, item_id: str) -> Build | None:
        build = await unless_gone(self.api.build(item_id))
        return build and dataclasses.replace(build, project_id=build.project_id or project)

    async def signature(self, build: Build) -> str:
        """The status, and for a running build the quarter of its typical duration it is in
        (from the second quarter on: a build just started is simply `running`)."""
        if build.status != RUNNING:
            return build.status
        typical = await self.typical(build)
        elapsed = build.elapsed(datetime.now(UTC))
        step = progress_step(elapsed, typical) if typical and elapsed is not None else 0
        return f"{RUNNING}:{step}" if step else RUNNING

    async def typical(self, build: Build) -> float | None:
        if build.project_id is None:
            return None
        return await self.durations.typical(build.project_id, build.platform)

    async def submission(self, build: Build) -> Submission:
        changelist = self._changelist(build.changelist) if build.changelist else None
        typical = await self.typical(build) if build.status == RUNNING else None
        payload = build_payload(
            build, seen_at=datetime.now(UTC), changelist=changelist, typical=typical
        )
        return f"build.{build.status}", payload, build_item(build.id)

    def _changelist(self, number: str) -> Changelist | None:
        """The build's changelist if known. Otherwise it is read in the background, within
        this reading's allowance and only while the quota can spare it: the card waits
        for it (within the look-up budget) when the event is routed, not the poller."""
        if not self.changelists.cached(number) and self.fetches_left > 0 and self.may_fetch():
            self.fetches_left -= 1
            self.changelists.read_ahead(number)
        return self.changelists.peek(number)

    def data(self, build: Build, signature: str) -> dict[str, Any]:
        return {"signature": signature, "build": build.to_json()}


class DeploymentTracker:
    """Deployments: announced on each status change, with the build they ship when the
    builds feed has recorded it (no request spent on it)."""

    kind = DEPLOYMENTS
    open_states: Sequence[str] = OPEN_DEPLOYMENT

    def __init__(self, api: ButterStackClient, store: Callable[[], PollingStore]) -> None:
        self.api = api
        self.store = store

    async def page(self, project: str, offset: int) -> Sequence[Deployment]:
        return await self.api.deployments(project, limit=PAGE, offset=offset)

    async def one(self, project: str, item_id: str) -> Deployment | None:
        found = await unless_gone(self.api.deployment(item_id))
        return found and dataclasses.replace(found, project_id=found.project_id or project)

    async def signature(self, deployment: Deployment) -> str:
        return deployment.status

    async def submission(self, deployment: Deployment) -> Submission:
        payload = deployment_payload(deployment, await self._build(deployment))
        return f"deployment.{deployment.status}", payload, deployment_item(deployment.id)

    async def _build(self, deployment: Deployment) -> Build | None:
        if not deployment.build_id or not deployment.project_id:
            return None
        feed = feed_name(deployment.project_id, BUILDS)
        found = await self.store().polled(SOURCE, feed, [deployment.build_id])
        recorded = found.get(deployment.build_id)
        if recorded is None or "build" not in recorded.data:
            return None
        return Build.parse(recorded.data["build"])

    def data(self, deployment: Deployment, signature: str) -> dict[str, Any]:
        return {"signature": signature}


class Poller:
    def __init__(
        self,
        api: ButterStackClient,
        store: Callable[[], PollingStore],
        coordination: Callable[[], Coordination],
        submit: Submit,
        *,
        projects: Sequence[str],
        poll_seconds: float,
        rate_per_minute: int,
        changelists: Changelists,
        durations: TypicalDurations,
        succeeded: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.submit = submit
        self.poll_seconds = poll_seconds
        self.durations = durations
        self.clock = clock
        self.spare = RateLimiter(rate=max(1.0, rate_per_minute * SPARE_SHARE), per=60.0, burst=1)
        self.builds = BuildTracker(api, changelists, durations, self._may_fetch)
        self.trackers: dict[str, Tracker] = {
            BUILDS: self.builds,
            DEPLOYMENTS: DeploymentTracker(api, store),
        }
        self.feeds = [Feed(p, kind) for p in projects for kind in self.trackers]
        self.problems = Problems("ButterStack", succeeded)
        self._poked = asyncio.Event()
        self._trimmed = clock()
        # One process at a time polls; it asks again at least once per idle feed's interval.
        self.job = Job(coordination, "butterstack-poller", poll_seconds * IDLE_FACTOR)

    def poke(self, project: str) -> None:
        """Read `project`'s builds next, before any feed merely due (a build was just started)."""
        for feed in self.feeds:
            if feed.project == project and feed.kind == BUILDS:
                feed.due = min(feed.due, self.clock() - self.interval(feed))
        self._poked.set()

    def interval(self, feed: Feed) -> float:
        return self.poll_seconds * (1 if feed.active else IDLE_FACTOR)

    def lateness(self, feed: Feed, now: float) -> float:
        """How overdue `feed` is, in intervals of its own (negative: not due yet)."""
        return (now - feed.due) / self.interval(feed)

    def behind(self) -> bool:
        """Whether some feed waits well past its time: the quota cannot cover every feed."""
        now = self.clock()
        return any(self.lateness(feed, now) > BEHIND for feed in self.feeds)

    def _may_fetch(self) -> bool:
        return not self.behind() or self.spare.try_acquire()

    async def run(self) -> None:
        projects = sorted({f.project for f in self.feeds})
        log.info("ButterStack: watching %s", ", ".join(projects))
        while True:
            now = self.clock()
            feed = max(self.feeds, key=lambda f: self.lateness(f, now))
            if feed.due > now:
                self._poked.clear()
                await wait_set(self._poked, min(f.due for f in self.feeds) - now)
                continue
            if not await self.job.held():
                await asyncio.sleep(self.job.standby)
                continue
            await self.read(feed)
            if self.clock() - self._trimmed > TRIM_EVERY:
                await self._trim()

    async def read(self, feed: Feed) -> None:
        """Read `feed` once; after a failure it is read again when next due, or when the
        service says it may be."""
        refused = await self.problems.attempt(feed.name, self._read(feed, self.trackers[feed.kind]))
        feed.due = self.clock() + self.interval(feed)
        if refused is not None and refused.retry_after:
            # The quota is the key's, not the feed's: no feed is read before it is back.
            resume = self.clock() + refused.retry_after
            for waiting in self.feeds:
                waiting.due = max(waiting.due, resume)

    async def _read(self, feed: Feed, tracker: Tracker) -> None:
        if not feed.primed:
            feed.primed = await self.store().feed_primed(SOURCE, feed.name)
        sighting = await self._look(feed, tracker)
        records = list(sighting.gone)
        self.builds.fetches_left = CHANGELIST_FETCHES
        for item in sighting.seen:
            before = sighting.known.get(item.id)
            signature = await tracker.signature(item)
            if before is None:
                news = item.id in sighting.fresh or item.is_open
            else:
                news = before.data.get("signature", before.state) != signature
            if news:
                kind, payload, key = await tracker.submission(item)
                await self.submit(SOURCE, kind, payload, f"{key}:{signature}")
            if news or before is None or before.state != item.status:
                records.append(PolledItem(item.id, item.status, tracker.data(item, signature)))
        await self.store().record_polled(SOURCE, feed.name, records)
        feed.primed = True
        feed.active = any(item.is_open for item in sighting.seen) or sighting.unresolved > 0
        if feed.kind == BUILDS and any(r.state == SUCCESS for r in records):
            self.durations.forget(feed.project)

    async def _look(self, feed: Feed, tracker: Tracker) -> Sighting:
        """What the feed holds now, compared with what was recorded of it."""
        open_before = {
            item.item_id: item
            for item in await self.store().polled_in_states(SOURCE, feed.name, tracker.open_states)
        }
        listed, known = await self._list(feed, tracker)
        # Newest first: what comes before the first item known is new since the last reading.
        boundary = next((i for i, item in enumerate(listed) if item.id in known), len(listed))
        on_pages = {item.id for item in listed}
        slipped = [item_id for item_id in open_before if item_id not in on_pages]
        sighting = Sighting(
            known=known,
            fresh={item.id for item in listed[:boundary]} if feed.primed else set(),
            unresolved=max(0, len(slipped) - DIRECT_FETCHES),
        )
        for item_id in slipped[:DIRECT_FETCHES]:
            found = await tracker.one(feed.project, item_id)
            if found is None:
                sighting.gone.append(dataclasses.replace(open_before[item_id], state=GONE))
            else:
                sighting.seen.append(found)
                known[item_id] = open_before[item_id]
        sighting.seen.extend(reversed(listed))  # announce oldest first
        return sighting

    async def _list(
        self, feed: Feed, tracker: Tracker
    ) -> tuple[list[Watched], dict[str, PolledItem]]:
        """Page back from the newest item until one already known; what is known of them."""
        listed: dict[str, Watched] = {}
        known: dict[str, PolledItem] = {}
        pages = MAX_PAGES if feed.primed else 1
        for number in range(pages):
            page = await tracker.page(feed.project, number * PAGE)
            for item in page:
                listed.setdefault(item.id, item)
            found = await self.store().polled(SOURCE, feed.name, [item.id for item in page])
            known.update(found)
            if len(page) < PAGE or found:
                break
        else:
            if feed.primed:
                log.warning(
                    "ButterStack %s: over %d new items since the last reading; older ones are"
                    " not announced",
                    feed.name,
                    pages * PAGE,
                )
        return newest_first(listed.values()), known

    async def _trim(self) -> None:
        self._trimmed = self.clock()
        for feed in self.feeds:
            tracker = self.trackers[feed.kind]
            await self.store().trim_polled(SOURCE, feed.name, KEEP_ITEMS, tracker.open_states)
