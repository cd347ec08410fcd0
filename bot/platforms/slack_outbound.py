"""Slack's outbound side: posts, edits, DMs and threads, at Slack's pace.

Slack allows about one message a second in a channel (thread replies
included), with short bursts tolerated; Herald keeps its own account per
channel so the delivery worker can fold a burst into a digest instead of
queueing behind 429s. slack_sdk's rate-limit handler still waits out any 429
Retry-After. Slack has no idempotency key: the delivery worker checks its
posts table before any retry instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import DeliveryError
from bot.models import Destination, Posted, Reply
from bot.platforms.slack_render import reply_message
from bot.ratelimit import SlidingWindow

NAME = "slack"
CHANNEL_MESSAGES = 1
CHANNEL_WINDOW_SECONDS = 1.0
# The destination is gone or closed to Herald: nothing sent there can succeed.
GONE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
        "cannot_dm_bot",
        "user_not_found",
        "user_disabled",
        "restricted_action",
    }
)
# Slack refused this one message (its content, or the message it edits).
REFUSED = frozenset(
    {
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)


class SlackOutbound:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._windows: dict[str, SlidingWindow] = {}

    def capacity(self, to: Destination) -> int:
        return self._window(to.channel_id).available()

    def ready_in(self, to: Destination) -> float:
        return self._window(to.channel_id).ready_in()

    async def post(self, to: Destination, reply: Reply, *, key: str | None = None) -> Posted:
        thread = to.thread_id or (reply.in_reply_to.id if reply.in_reply_to else None)
        async with self._window(to.channel_id).slot(), delivery(f"channel {to.channel_id}"):
            response = await self.client.chat_postMessage(
                channel=to.channel_id,
                thread_ts=thread,
                unfurl_links=False,
                unfurl_media=False,
                **reply_message(reply),
            )
        return Posted(NAME, str(response["channel"]), str(response["ts"]))

    async def edit(self, posted: Posted, reply: Reply) -> None:
        async with delivery(f"message {posted.message_id}"):
            await self.client.chat_update(
                channel=posted.channel_id, ts=posted.message_id, **reply_message(reply)
            )

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        async with delivery(f"DM to {user_id}"):
            opened = await self.client.conversations_open(users=user_id)
        return await self.post(Destination(NAME, str(opened["channel"]["id"])), reply)

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        """Slack threads need no creating: replies name their parent's `ts`."""
        return Destination(NAME, posted.channel_id, posted.message_id)

    def _window(self, channel_id: str) -> SlidingWindow:
        window = self._windows.get(channel_id)
        if window is None:
            window = SlidingWindow(CHANNEL_MESSAGES, CHANNEL_WINDOW_SECONDS)
            self._windows[channel_id] = window
        return window


@asynccontextmanager
async def delivery(what: str) -> AsyncIterator[None]:
    """Turn Slack API errors into `DeliveryError`: the place gone, the message refused,
    or worth retrying (after Slack's Retry-After when it gave one)."""
    try:
        yield
    except SlackApiError as error:
        code = str(error.response.get("error"))
        retry_after = error.response.headers.get("Retry-After") if code == "ratelimited" else None
        raise DeliveryError(
            f"Slack refused {what}: {code}",
            permanent=code in GONE,
            bad_message=code in REFUSED,
            retry_after=float(retry_after) if retry_after else None,
        ) from None
    except (TimeoutError, aiohttp.ClientError) as error:
        raise DeliveryError(f"Slack is unreachable for {what}: {type(error).__name__}") from None
