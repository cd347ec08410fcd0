"""The Slack adapter: slack-bolt's AsyncApp serving the cogs' neutral commands.

Socket Mode (an app-level token; no public URL needed) or HTTP mode (Slack
posts to `POST /slack/events` on Herald's own server, where bolt verifies the
v0 signature and the 5-minute window). Every Web API call, including Socket
Mode's `apps.connections.open`, goes to `SLACK_API_URL`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.cmdline import parse
from bot.dispatch import error_reply, execute
from bot.errors import DeliveryError, StartError, UserError
from bot.models import Destination, Invocation, Posted, Reply, User
from bot.platforms.slack_render import reply_message
from bot.ratelimit import RateLimiter

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
ADMIN_CACHE_SECONDS = 300.0
# Errors after which sending the same message again cannot succeed.
PERMANENT = frozenset(
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
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_blocks",
        "msg_too_long",
    }
)

Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


class SlackPlatform:
    name = "slack"

    def __init__(self, core: Core) -> None:
        settings = core.settings
        if settings.slack_bot_token is None:
            raise StartError("SLACK_BOT_TOKEN is not set")
        self.core = core
        self.settings = settings
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url + "/",
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
        )
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
            request_verification_enabled=secret is not None,
            logger=log,
        )
        for top in sorted({spec.path[0] for spec in core.commands.values()}):
            self.app.command(f"/{top}")(self._on_command)
        if not settings.slack_socket_mode:
            core.server.add_route("POST", EVENTS_PATH, self._on_http)
        self._socket: AsyncSocketModeHandler | None = None
        self._state = "connecting"
        self._channel_limits: dict[str, RateLimiter] = {}
        self._admins: dict[str, tuple[bool, float]] = {}
        self.bot_user_id: str | None = None

    async def start(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as error:
            raise StartError(
                f"SLACK_BOT_TOKEN was refused by Slack ({error.response.get('error')}): copy the"
                " Bot User OAuth Token from your app's OAuth & Permissions page."
            ) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise StartError(f"Slack is unreachable at SLACK_API_URL: {error}") from None
        self.bot_user_id = auth.get("user_id")
        if self.settings.slack_app_token is not None:
            self._socket = AsyncSocketModeHandler(
                self.app, self.settings.slack_app_token.get_secret_value(), web_client=self.client
            )
            await self._socket.connect_async()
            mode = "Socket Mode"
        else:
            mode = f"HTTP mode (Slack posts to {EVENTS_PATH})"
        self._state = "connected"
        log.info("Slack: connected to %s as %s, %s", auth.get("team"), auth.get("user"), mode)

    def status(self) -> str:
        return self._state

    async def close(self) -> None:
        self._state = "closed"
        if self._socket is not None:
            await self._socket.close_async()

    async def _on_http(self, request: web.Request) -> web.Response:
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def _on_command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """Acknowledge at once (Slack's 3 seconds), then answer through `respond`."""
        await ack()
        line = f"{body['command'].lstrip('/')} {body.get('text') or ''}"
        ctx = self.invocation(body)
        try:
            spec, raw = parse(line, self.core.commands)
            ctx.command = spec.name
            ctx.options = spec.bind(raw)
        except UserError as error:
            await respond(**reply_message(error_reply(error.message)), response_type="ephemeral")
            return
        if spec.admin:
            ctx.is_admin = await self.is_admin(ctx.user.id)
        reply = await execute(spec, ctx)
        private = reply.ephemeral or spec.ephemeral
        await respond(
            **reply_message(reply), response_type="ephemeral" if private else "in_channel"
        )

    def invocation(self, body: dict[str, Any]) -> Invocation:
        return Invocation(
            command=str(body.get("command", "")).lstrip("/"),
            user=User(
                platform="slack",
                id=body["user_id"],
                name=body.get("user_name") or body["user_id"],
                workspace=body.get("team_domain"),
            ),
            guild_id=body.get("team_id"),
            channel_id=body.get("channel_id"),
        )

    async def is_admin(self, user_id: str) -> bool:
        """A workspace admin or owner, or a member of an allowed user group (cached)."""
        cached = self._admins.get(user_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        allowed = False
        try:
            user = (await self.client.users_info(user=user_id))["user"]
            allowed = bool(user.get("is_admin") or user.get("is_owner"))
            for group in self.settings.slack_admin_group_ids:
                if allowed:
                    break
                members = await self.client.usergroups_users_list(usergroup=group)
                allowed = user_id in members.get("users", [])
        except SlackApiError as error:
            log.warning(
                "Slack: cannot check admin rights of %s: %s", user_id, error.response.get("error")
            )
        self._admins[user_id] = (allowed, time.monotonic() + ADMIN_CACHE_SECONDS)
        return allowed

    async def post(self, to: Destination, reply: Reply, *, key: str | None = None) -> Posted:
        """Post to a channel, at most about one message a second per channel.

        Slack has no idempotency key, so `key` is unused here: callers check
        what they already posted before retrying.
        """
        await self._limit(to.channel_id)
        async with _delivery(f"channel {to.channel_id}"):
            response = await self.client.chat_postMessage(
                channel=to.channel_id,
                thread_ts=to.thread_id,
                unfurl_links=False,
                unfurl_media=False,
                **reply_message(reply),
            )
        return Posted(self.name, str(response["channel"]), str(response["ts"]))

    async def edit(self, posted: Posted, reply: Reply) -> None:
        await self._limit(posted.channel_id)
        async with _delivery(f"message {posted.message_id}"):
            await self.client.chat_update(
                channel=posted.channel_id, ts=posted.message_id, **reply_message(reply)
            )

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        async with _delivery(f"DM to {user_id}"):
            opened = await self.client.conversations_open(users=user_id)
        return await self.post(Destination(self.name, str(opened["channel"]["id"])), reply)

    async def _limit(self, channel_id: str) -> None:
        limiter = self._channel_limits.get(channel_id)
        if limiter is None:
            limiter = self._channel_limits[channel_id] = RateLimiter(rate=1, per=1.0, burst=1)
        await limiter.acquire()


@asynccontextmanager
async def _delivery(what: str) -> AsyncIterator[None]:
    """Turn Slack API errors into `DeliveryError`, permanent or not."""
    try:
        yield
    except SlackApiError as error:
        code = str(error.response.get("error"))
        retry_after = error.response.headers.get("Retry-After") if code == "ratelimited" else None
        raise DeliveryError(
            f"Slack refused {what}: {code}",
            permanent=code in PERMANENT,
            retry_after=float(retry_after) if retry_after else None,
        ) from None
    except (TimeoutError, aiohttp.ClientError) as error:
        raise DeliveryError(f"Slack is unreachable for {what}: {type(error).__name__}") from None
