"""Cached look-ups of names and links through a service's API.

Announcement cards read better with a project's name or a work item's title
that the webhook body lacks. Those come from optional API calls, cached so a
burst of events costs one call per thing named, and shared while in flight.
A failed look-up is an absent value (the card uses what the payload
carries), remembered briefly so an outage is not hammered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.budget import remaining, within_budget
from bot.errors import ServiceError
from bot.http import ServiceClient
from bot.ratelimit import RateLimiter

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

V = TypeVar("V")


class Lookups(Generic[V]):
    """Cached look-ups by key, each loaded once at a time and bounded by the open `Budget`.

    A load runs in its own task, so a caller that stops waiting (its budget is
    spent) leaves it running to fill the cache. While a load is overdue (a
    caller waited for it and gave up), the service is taken to be slow:
    callers of other keys do not wait either, so a hanging API costs one
    budget per request timeout, not one per delivery.
    """

    def __init__(self, ttl: float = 600.0, miss_ttl: float = 60.0, size: int = 2000) -> None:
        self.ttl = ttl
        self.miss_ttl = miss_ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[float, V | None]] = OrderedDict()
        self._loading: dict[str, asyncio.Task[V | None]] = {}
        self._overdue: set[str] = set()

    async def get(self, key: str, load: Callable[[], Awaitable[V | None]]) -> V | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self._entries.move_to_end(key)
            return entry[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key, load), name=f"look-up {key}")
            self._loading[key] = task
        left = remaining()
        patient = not self._overdue
        answer = await within_budget(task, patience=patient)
        if patient and left and not task.done():
            self._overdue.add(key)  # waited and gave up: the service is slow right now
        return answer

    async def _load(self, key: str, load: Callable[[], Awaitable[V | None]]) -> V | None:
        try:
            value = await load()
        except ServiceError as error:
            log.info("look-up %s failed: %s", key, error.message)
            value = None
        finally:
            self._loading.pop(key, None)
            self._overdue.discard(key)
        self._remember(key, value)
        return value

    def _remember(self, key: str, value: V | None) -> None:
        ttl = self.ttl if value is not None else self.miss_ttl
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def lookup_client(
    core: Core,
    label: str,
    base_url: str | None,
    authorization: str | None,
    *,
    timeout: float,
    per_second: float,
    burst: int,
    auth_hint: str,
) -> ServiceClient | None:
    """An HTTP client for look-ups, or None without a base URL and credentials.

    Look-ups only make cards nicer, so they try twice at most and fail fast.
    """
    if base_url is None or authorization is None:
        return None
    return core.http(
        label,
        base_url,
        headers={"Authorization": authorization, "Accept": "application/json"},
        timeout=timeout,
        limiter=RateLimiter(rate=per_second, per=1.0, burst=burst),
        max_attempts=2,
        auth_hint=auth_hint,
    )
