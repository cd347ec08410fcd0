"""Slack's outbound side: posts, edits, DMs and threads, at Slack's pace.

Slack allows about one message a second in a channel (thread replies
included), with short bursts tolerated; Herald keeps its own account per
channel so the delivery worker can fold a burst into a digest instead of
queueing behind 429s. slack_sdk's rate-limit handler still waits out any 429
Retry-After.

Slack has no idempotency key: every post carries its key (salted with the
database's id) in the message `metadata`, and after an answer was lost
(timeout, dropped connection, 5xx) `find_posted` looks for that key in the
channel's history before the delivery worker posts again.

Slack answers every refusal with an error code. A few mean "try again later"
(`TRANSIENT`); a few mean the channel is gone (`GONE`) or Herald may not post
there for now (`NO_ACCESS`); some refuse the message they edit or the DM
(`NOT_THERE`). Any other code refuses the message itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import DeliveryError
from bot.models import Destination, Posted, Reply
from bot.platforms.slack_render import plain_message, reply_message
from bot.ratelimit import SlidingWindow

log = logging.getLogger(__name__)

NAME = "slack"
CHANNEL_MESSAGES = 1
CHANNEL_WINDOW_SECONDS = 1.0
METADATA_EVENT = "herald_post"
HISTORY_LIMIT = 200
CLOCK_SKEW_SECONDS = 60.0
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# The channel is gone: nothing sent there can succeed.
GONE = frozenset({"channel_not_found", "is_archived"})
# Herald may not post there now; an admin can change that.
NO_ACCESS = frozenset(
    {
        "not_in_channel",
        "restricted_action",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
    }
)
# The message being edited, or the person being written to, is not there.
NOT_THERE = frozenset(
    {
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "cannot_dm_bot",
        "user_not_found",
        "user_disabled",
    }
)


class SlackOutbound:
    def __init__(self, client: AsyncWebClient, salt: str = "") -> None:
        self.client = client
        self.salt = salt
        self._windows: dict[str, SlidingWindow] = {}

    def capacity(self, to: Destination) -> int:
        return self._window(to.channel_id).available()

    def ready_in(self, to: Destination) -> float:
        return self._window(to.channel_id).ready_in()

    async def post(
        self, to: Destination, reply: Reply, *, key: str | None = None, plain: bool = False
    ) -> Posted:
        thread = to.thread_id or (reply.in_reply_to.id if reply.in_reply_to else None)
        message = plain_message(reply) if plain else reply_message(reply)
        if key is not None:
            payload = {"key": self._salted(key)}
            message["metadata"] = {"event_type": METADATA_EVENT, "event_payload": payload}
        async with self._window(to.channel_id).slot(), delivery(f"channel {to.channel_id}"):
            response = await self.client.chat_postMessage(
                channel=to.channel_id,
                thread_ts=thread,
                unfurl_links=False,
                unfurl_media=False,
                **message,
            )
        return Posted(NAME, str(response["channel"]), str(response["ts"]))

    async def edit(self, posted: Posted, reply: Reply, *, plain: bool = False) -> None:
        # Empty lists, not absent keys, remove the blocks of the message edited.
        message = (
            {**plain_message(reply), "blocks": [], "attachments": []}
            if plain
            else reply_message(reply)
        )
        async with delivery(f"message {posted.message_id}"):
            await self.client.chat_update(
                channel=posted.channel_id, ts=posted.message_id, **message
            )

    async def find_posted(self, to: Destination, key: str, since: float) -> Posted | None:
        """The message carrying `key` in its metadata, posted since `since` (epoch seconds)."""
        where: dict[str, Any] = {
            "channel": to.channel_id,
            "include_all_metadata": True,
            "limit": HISTORY_LIMIT,
        }
        oldest = f"{max(0.0, since - CLOCK_SKEW_SECONDS):.6f}"
        try:
            async with delivery(f"the history of {to.channel_id}"):
                if to.thread_id:
                    found = await self.client.conversations_replies(
                        ts=to.thread_id, oldest=oldest, **where
                    )
                else:
                    found = await self.client.conversations_history(oldest=oldest, **where)
        except DeliveryError as error:
            if not (error.permanent or error.access_lost):
                raise
            # Not allowed to look (no history scope): posting again is the lesser evil.
            log.warning("cannot look for %s in %s: %s", key, to.channel_id, error)
            return None
        wanted = self._salted(key)
        for message in found.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == wanted:
                return Posted(NAME, to.channel_id, str(message["ts"]))
        return None

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        async with delivery(f"DM to {user_id}"):
            opened = await self.client.conversations_open(users=user_id)
        return await self.post(Destination(NAME, str(opened["channel"]["id"])), reply)

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        """Slack threads need no creating: replies name their parent's `ts`."""
        return Destination(NAME, posted.channel_id, posted.message_id)

    def _salted(self, key: str) -> str:
        return f"{self.salt}:{key}" if self.salt else key

    def _window(self, channel_id: str) -> SlidingWindow:
        window = self._windows.get(channel_id)
        if window is None:
            window = SlidingWindow(CHANNEL_MESSAGES, CHANNEL_WINDOW_SECONDS)
            self._windows[channel_id] = window
        return window


@asynccontextmanager
async def delivery(what: str) -> AsyncIterator[None]:
    """Turn Slack API errors into `DeliveryError`: the place gone, Herald shut out,
    the message refused, or worth retrying (after Slack's Retry-After when it gave one)."""
    try:
        yield
    except SlackApiError as error:
        data = error.response.data
        code = data.get("error") if isinstance(data, dict) else None
        if not code or error.response.status_code >= 500:
            status = error.response.status_code
            raise DeliveryError(
                f"Slack failed {what}: HTTP {status} {code or ''}".rstrip(), ambiguous=True
            ) from None
        retry_after = error.response.headers.get("Retry-After") if code == "ratelimited" else None
        raise DeliveryError(
            f"Slack refused {what}: {code}",
            permanent=code in GONE or code in NOT_THERE,
            access_lost=code in NO_ACCESS,
            bad_message=code not in (TRANSIENT | GONE | NO_ACCESS | NOT_THERE),
            retry_after=float(retry_after) if retry_after else None,
        ) from None
    except aiohttp.ClientConnectorError as error:
        raise DeliveryError(f"Slack is unreachable for {what}: {type(error).__name__}") from None
    except (TimeoutError, aiohttp.ClientError) as error:
        raise DeliveryError(
            f"Slack did not answer {what}: {type(error).__name__}", ambiguous=True
        ) from None
