"""What every chat platform adapter offers the core (Discord, Slack, the console)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.models import Destination, Posted, Reply


class Platform(Protocol):
    """A chat platform adapter, as the core drives it."""

    name: str

    async def start(self) -> None:
        """Connect and register commands; return once ready to serve."""

    async def close(self) -> None: ...

    def status(self) -> str:
        """A word for /healthz and /readyz: `connected` and `standby` (another process
        holds the gateway session) are ready; `connecting`, `disconnected` (reconnecting),
        `closed`... are not."""

    async def post(
        self, to: Destination, reply: Reply, *, key: str | None = None, plain: bool = False
    ) -> Posted:
        """Send a message to a channel; `key` makes a retried send idempotent.

        `plain` sends the stripped-down form (text only, no blocks or embeds).
        Raises `DeliveryError` when the platform does not take it.
        """

    async def edit(self, posted: Posted, reply: Reply, *, plain: bool = False) -> None:
        """Replace a message Herald posted earlier."""

    async def find_posted(self, to: Destination, key: str, since: float) -> Posted | None:
        """The message posted under `key` since `since`, where the platform can tell
        (after an answer was lost); None when not found or not needed."""

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        """Send a private message to a user (`DeliveryError(permanent)` when closed)."""

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        """A thread under a message Herald posted, started if there is none yet."""

    def capacity(self, to: Destination) -> int:
        """How many messages `to` takes right now without waiting on a rate limit."""

    def ready_in(self, to: Destination) -> float:
        """Seconds until `to` takes another message (0 when it would now)."""

    def channel_language(self, channel_id: str) -> str | None:
        """The language the channel's server speaks, where the platform has one."""


class Platforms(Protocol):
    """The running adapters, as a worker looks them up (the core is one)."""

    @property
    def platforms(self) -> Sequence[Platform]: ...

    def platform(self, name: str) -> Platform | None:
        """The running adapter called `name`, if any."""
