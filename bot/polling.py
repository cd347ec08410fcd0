"""What pollers share: how they hand a change on, and how they report failing feeds.

A poller (ButterStack builds, BetaHub releases) notices a change and submits
it to the announcements pipeline like a webhook would: `await submit(source,
kind, payload, key)`, with a delivery key that names that change
(`butterstack:build:812:success`), so the same change submitted twice is
announced once. The service's `Source` turns the payload into the `Event`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.errors import ServiceError

log = logging.getLogger(__name__)

Submit = Callable[[str, str, dict[str, Any], str], Awaitable[object]]
"""`Announcements.submit`, as a poller calls it: source, kind, payload, delivery key."""


class Problems:
    """A poller's failures, logged when they start or change and when they end.

    A service that is down fails every reading; saying so once is enough.
    `succeeded` is told of every reading that went through (for
    `herald_poller_last_success_timestamp`).
    """

    def __init__(self, service: str, succeeded: Callable[[], None]) -> None:
        self.service = service
        self.succeeded = succeeded
        self._current: dict[str, str] = {}

    async def attempt(self, feed: str, reading: Awaitable[None]) -> ServiceError | None:
        """Run one reading of `feed`; the service's refusal, if that is how it ended.

        Anything else that goes wrong is logged with its traceback: the poller
        carries on with its next reading either way.
        """
        try:
            await reading
        except ServiceError as error:
            if self._current.get(feed) != error.message:
                log.warning("%s %s: %s", self.service, feed, error.message)
            self._current[feed] = error.message
            return error
        except Exception:
            log.exception("%s %s could not be read", self.service, feed)
            self._current[feed] = "crashed"
            return None
        self.succeeded()
        if self._current.pop(feed, None) is not None:
            log.info("%s %s: reading again", self.service, feed)
        return None
