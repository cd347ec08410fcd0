"""Discord's outbound side: posts, edits, DMs and threads, within Discord's rate limits.

Discord allows about 5 messages per 5 s in a channel (a thread is a channel
of its own) and about 50 requests per second per bot. Herald keeps its own
account of both, so the delivery worker can ask how much room a channel has
and fold a burst into a digest instead of queueing behind a 429. discord.py
underneath still honours the X-RateLimit-* headers and any 429's
Retry-After, and retries Discord's 500s itself.

Every message create carries a nonce derived from the caller's key, salted
with the database's random id, with `enforce_nonce`, so a retried post
returns the message already created, and two Heralds sharing a bot token
never take each other's messages for their own.

Discord's refusals: 10003 Unknown Channel (and any 404) means the place is
gone; 50001 Missing Access and 50013 Missing Permissions mean Herald may not
post there for now; another 4xx refuses the message itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import aiohttp
import discord

from bot.errors import DeliveryError
from bot.i18n import _
from bot.models import Destination, Posted, Reply
from bot.platforms.discord_render import plain_kwargs, reply_kwargs
from bot.ratelimit import RateLimiter, SlidingWindow
from bot.text import truncate

CHANNEL_MESSAGES = 5
CHANNEL_WINDOW_SECONDS = 5.0
GLOBAL_REQUESTS_PER_SECOND = 50
THREAD_ARCHIVE_MINUTES: Final = 10080
THREAD_NAME_LIMIT = 100
THREAD_ALREADY_EXISTS = 160004
MISSING_ACCESS = frozenset({50001, 50013})
NAME = "discord"


class DiscordOutbound:
    def __init__(self, bot: discord.Client, salt: str = "") -> None:
        self.bot = bot
        self.salt = salt
        self.requests = RateLimiter(
            rate=GLOBAL_REQUESTS_PER_SECOND, per=1.0, burst=GLOBAL_REQUESTS_PER_SECOND
        )
        self._windows: dict[str, SlidingWindow] = {}

    def capacity(self, to: Destination) -> int:
        return self._window(to).available()

    def ready_in(self, to: Destination) -> float:
        return max(self._window(to).ready_in(), self.requests.delay())

    async def post(
        self, to: Destination, reply: Reply, *, key: str | None = None, plain: bool = False
    ) -> Posted:
        channel = self.bot.get_partial_messageable(int(to.thread_id or to.channel_id))
        nonce = _nonce(f"{self.salt}:{key}") if key else None
        form = plain_kwargs(reply) if plain else reply_kwargs(reply)
        reference = None
        if reply.in_reply_to is not None:
            reference = discord.MessageReference(
                message_id=int(reply.in_reply_to.id),
                channel_id=int(reply.in_reply_to.channel_id),
                fail_if_not_exists=False,
            )
        async with self._window(to).slot(), _delivery(f"channel {to.channel_id}"):
            await self.requests.acquire()
            message = await channel.send(**form, nonce=nonce, reference=reference)  # type: ignore[arg-type]  # send() takes None; its overloads omit it
        return Posted(NAME, str(message.channel.id), str(message.id))

    async def edit(self, posted: Posted, reply: Reply, *, plain: bool = False) -> None:
        channel = self.bot.get_partial_messageable(int(posted.channel_id))
        form = plain_kwargs(reply) if plain else reply_kwargs(reply)
        async with _delivery(f"message {posted.message_id}"):
            await self.requests.acquire()
            await channel.get_partial_message(int(posted.message_id)).edit(**form)

    async def find_posted(self, to: Destination, key: str, since: float) -> Posted | None:
        """Nothing to look for: a post retried with its nonce returns the one made."""
        return None

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        async with _delivery(f"DM to {user_id}"):
            await self.requests.acquire()
            dm = await self.bot.create_dm(discord.Object(id=int(user_id)))
            await self.requests.acquire()
            message = await dm.send(**reply_kwargs(reply))
        return Posted(NAME, str(dm.id), str(message.id))

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        """A public thread started from the message; a thread's id is its message's id."""
        thread_id = posted.message_id
        try:
            async with _delivery(f"a thread under message {posted.message_id}"):
                await self.requests.acquire()
                data = await self.bot.http.start_thread_with_message(
                    posted.channel_id,
                    posted.message_id,
                    name=truncate(name, THREAD_NAME_LIMIT) or _("Updates"),
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
                thread_id = str(data["id"])
        except _ThreadExists:
            pass
        return Destination(NAME, posted.channel_id, thread_id)

    def _window(self, to: Destination) -> SlidingWindow:
        channel = to.thread_id or to.channel_id
        window = self._windows.get(channel)
        if window is None:
            window = self._windows[channel] = SlidingWindow(
                CHANNEL_MESSAGES, CHANNEL_WINDOW_SECONDS
            )
        return window


class _ThreadExists(Exception):
    """Discord says the message has a thread already (the caller wanted one anyway)."""


def _retry_after(error: discord.HTTPException) -> float | None:
    """Discord's `Retry-After` on a 429 that discord.py gave up waiting out."""
    if error.status != 429:
        return None
    try:
        return float(error.response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _nonce(key: str) -> str:
    """Discord nonces are at most 25 characters: a digest of the delivery key."""
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()[:25]


@asynccontextmanager
async def _delivery(what: str) -> AsyncIterator[None]:
    """Turn discord.py's HTTP errors into `DeliveryError`, permanent or not."""
    try:
        yield
    except (discord.Forbidden, discord.NotFound) as error:
        shut_out = error.code in MISSING_ACCESS
        raise DeliveryError(
            f"Discord refused {what}: {error.text or error.status}",
            permanent=not shut_out,
            access_lost=shut_out,
        ) from None
    except discord.HTTPException as error:
        if error.code == THREAD_ALREADY_EXISTS:
            raise _ThreadExists from None
        refused = 400 <= error.status < 500 and error.status != 429
        raise DeliveryError(
            f"Discord did not take {what}: HTTP {error.status} {error.text}".rstrip(),
            bad_message=refused,
            retry_after=_retry_after(error),
        ) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryError(f"Discord is unreachable for {what}: {type(error).__name__}") from None
