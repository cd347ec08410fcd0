"""What pollers hand on: neutral events and the `Emit` seam they go through.

A poller (ButterStack builds, BetaHub releases) notices a change and emits an
`Event` with a delivery key that names that change (`butterstack:build:812:success`),
so the same change emitted twice is announced once.

`Event` mirrors the announcements pipeline's event (source, kind, card, line,
item, title, url, attributes) field for field; when the pipeline lands, this
class gives way to it and `Emit` becomes a call to its `submit`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.errors import ServiceError
from bot.models import Card

log = logging.getLogger(__name__)

Attributes = dict[str, list[str]]


@dataclass(slots=True)
class Event:
    """One thing that happened, as every channel will see it.

    `item` names what the card is about (`butterstack:build:812`): later events
    about the same item edit its card in place. `line` is the one-line form
    (markdown subset, service text escaped); `attributes` are what subscription
    filters look at, lower-case keys.
    """

    source: str
    kind: str
    card: Card
    line: str
    item: str | None = None
    title: str | None = None
    url: str | None = None
    attributes: Attributes = field(default_factory=dict)


Emit = Callable[[Event, str], Awaitable[None]]
"""`await emit(event, key)`: hand an event on; `key` is unique per change."""


async def log_only(event: Event, key: str) -> None:
    """The seam's end until announcements are wired in: say what would be announced."""
    log.info("%s %s (%s): %s", event.source, event.kind, key, event.line)


class Problems:
    """A poller's failures, logged when they start or change and when they end.

    A service that is down fails every reading; saying so once is enough.
    """

    def __init__(self, service: str) -> None:
        self.service = service
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
        if self._current.pop(feed, None) is not None:
            log.info("%s %s: reading again", self.service, feed)
        return None
