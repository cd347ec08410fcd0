"""The per-user submission limit: places reserved before the work, given back when refused.

A command takes one of its user's places (`HERALD_SUBMISSION_LIMIT` per
`HERALD_SUBMISSION_WINDOW_SECONDS`) before it downloads, searches or loads
anything, counting and taking in one transaction: ten commands at once
cannot all see a free place. A draft waiting for "Create anyway" holds the
place it was taken with; a request the service refuses gives it back.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.errors import UserError
from bot.i18n import _n, format_number
from bot.models import User
from bot.store import SlotStore


class Cooldown:
    """A user's places; `store` gives the store once it is open."""

    def __init__(self, store: Callable[[], SlotStore], limit: int, window: float) -> None:
        self._store = store
        self.limit = limit
        self.window = window

    @property
    def store(self) -> SlotStore:
        return self._store()

    async def reserve(self, user: User, submission_id: int | None = None) -> tuple[int, bool]:
        """Take one of the user's places (the one `submission_id` holds, if still in the
        window), or refuse, with how long to wait. Returns the place and whether it is new."""
        now = time.time()
        store = self.store
        place = await store.reserve_slot(
            user.platform, user.id, now, self.window, self.limit, submission_id
        )
        if place is not None:
            return place
        times = await store.slots_since(user.platform, user.id, now - self.window)
        oldest = times[len(times) - self.limit] if len(times) >= self.limit else now - self.window
        wait = max(1, math.ceil(oldest + self.window - now))
        raise UserError(
            _n(
                "You have sent {count} submission in the last {seconds} seconds;"
                " please try again in {wait} s.",
                "You have sent {count} submissions in the last {seconds} seconds;"
                " please try again in {wait} s.",
                self.limit,
                seconds=format_number(self.window),
                wait=format_number(wait),
            )
        )

    async def hold(self, place: int, submission_id: int) -> None:
        await self.store.hold_slot(place, submission_id)

    async def release(self, place: int) -> None:
        await self.store.release_slot(place)

    @asynccontextmanager
    async def held(self, user: User) -> AsyncIterator[int]:
        """A place for the work inside; a `UserError` there (nothing was sent, or the
        service refused it) gives it back."""
        place, _new = await self.reserve(user)
        try:
            yield place
        except UserError:
            await self.release(place)
            raise
