"""The Slack adapter: slack-bolt's AsyncApp serving the cogs' neutral commands.

Socket Mode (an app-level token; no public URL needed) or HTTP mode (Slack
posts to `POST /slack/events` on Herald's own server, where bolt verifies the
v0 signature and the 5-minute window). Every Web API call, including Socket
Mode's `apps.connections.open`, goes to `SLACK_API_URL`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
from bot.commands import CommandSpec
from bot.dispatch import error_reply, execute, execute_action
from bot.errors import DeliveryError, StartError, UserError
from bot.forms import form_capable, parse_action_id
from bot.models import Destination, Invocation, MessageRef, Posted, Reply, User
from bot.platforms.slack_forms import (
    FORM_CALLBACK,
    SLACK_KINDS,
    FormContext,
    build_view,
    submitted_values,
)
from bot.platforms.slack_render import LINK_ACTION, reply_message
from bot.ratelimit import RateLimiter

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
PROFILE_CACHE_SECONDS = 300.0
MENU_PREFIX = "herald:menu:"
DONE = "✅ Done."
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


@dataclass(slots=True)
class Profile:
    """What Herald needs to know of a Slack user, from `users.info`."""

    name: str | None = None
    display_name: str | None = None
    email: str | None = None
    admin: bool = False


def menu_callback(spec: CommandSpec) -> str:
    """The callback id of a command's message shortcut (as in the app manifest)."""
    return f"{MENU_PREFIX}{spec.name}"


def _permalink(domain: str | None, channel: str, ts: str | None) -> str | None:
    if not domain or not ts:
        return None
    return f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"


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
        for spec in core.commands.values():
            if spec.message_menu is not None:
                self.app.shortcut(menu_callback(spec))(self._on_shortcut)
        self.app.view(FORM_CALLBACK)(self._on_form)
        self.app.action(re.compile(r"^herald:act:"))(self._on_action)
        self.app.action(re.compile(f"^{LINK_ACTION}"))(self._on_link)
        if not settings.slack_socket_mode:
            core.server.add_route("POST", EVENTS_PATH, self._on_http)
        self._socket: AsyncSocketModeHandler | None = None
        self._state = "connecting"
        self._channel_limits: dict[str, RateLimiter] = {}
        self._profiles: dict[str, tuple[Profile, float]] = {}
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
        """Acknowledge at once (Slack's 3 seconds), then answer through `respond`.

        A command given without its required options opens a modal instead.
        """
        await ack()
        line = f"{body['command'].lstrip('/')} {body.get('text') or ''}"
        try:
            spec, raw = parse(line, self.core.commands)
        except UserError as error:
            await respond(**reply_message(error_reply(error.message)), response_type="ephemeral")
            return
        if spec.missing(raw) and form_capable(spec, SLACK_KINDS):
            context = FormContext(spec.name, body.get("channel_id"))
            await self._open_form(spec, body["trigger_id"], context, raw, f"/{spec.name}")
            return
        ctx = await self.invocation(spec.name, body["user_id"], body)
        try:
            ctx.options = spec.bind(raw)
        except UserError as error:
            await respond(**reply_message(error_reply(error.message)), response_type="ephemeral")
            return
        reply = await execute(spec, ctx)
        private = reply.ephemeral or spec.ephemeral
        await respond(
            **reply_message(reply), response_type="ephemeral" if private else "in_channel"
        )

    async def _on_shortcut(self, ack: Ack, body: dict[str, Any]) -> None:
        """A message shortcut ("Report as bug"): a modal prefilled with the message."""
        await ack()
        spec = self._menu_spec(body.get("callback_id", ""))
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        if spec is None or channel is None:
            return
        domain = (body.get("team") or {}).get("domain")
        context = FormContext(
            spec.name,
            channel,
            message_ts=message.get("ts"),
            message_url=_permalink(domain, channel, message.get("ts")),
            message_author=message.get("user"),
        )
        given = {spec.message_option: message.get("text", "")} if spec.message_option else {}
        await self._open_form(spec, body["trigger_id"], context, given, spec.message_menu or "")

    def _menu_spec(self, callback_id: str) -> CommandSpec | None:
        return self.core.commands.get(callback_id.removeprefix(MENU_PREFIX))

    async def _open_form(
        self,
        spec: CommandSpec,
        trigger_id: str,
        context: FormContext,
        given: dict[str, Any],
        title: str,
    ) -> None:
        view = build_view(spec, context, title, given, {})
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            log.warning(
                "Slack: could not open the /%s form: %s", spec.name, error.response.get("error")
            )

    async def _on_form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A submitted modal: problems go back beside their fields; else run the command."""
        context = FormContext.decode(view.get("private_metadata") or "")
        spec = self.core.commands.get(context.command) if context else None
        if context is None or spec is None:
            await ack()
            return
        raw = submitted_values(view.get("state") or {})
        problems = {name: text for name, text in spec.problems(raw).items() if name in raw}
        if problems:
            await ack(response_action="errors", errors=problems)
            return
        await ack()
        ctx = await self.invocation(spec.name, body["user"]["id"], body)
        ctx.channel_id = context.channel_id
        if context.message_ts and context.channel_id:
            ctx.message = MessageRef(
                id=context.message_ts,
                channel_id=context.channel_id,
                text=str(raw.get(spec.message_option or "", "")),
                author=context.message_author or "",
                url=context.message_url,
            )
        try:
            ctx.options = spec.bind(raw)
        except UserError as error:
            await self._deliver(ctx, error_reply(error.message))
            return
        await self._deliver(ctx, await execute(spec, ctx))

    async def _on_action(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        """A button press: run the cog action; the prompt shows the outcome."""
        await ack()
        parsed = parse_action_id(action.get("action_id", ""))
        if parsed is None:
            return
        ref, argument = parsed
        ctx = await self.invocation(ref, body["user"]["id"], body)
        ctx.channel_id = (body.get("channel") or {}).get("id")
        reply = await execute_action(self.core.cogs, ref, argument, ctx)
        if reply.ephemeral:
            await respond(**reply_message(reply), replace_original=True)
            return
        await self._deliver(ctx, reply)
        await respond(**reply_message(Reply(text=DONE)), replace_original=True)

    async def _on_link(self, ack: Ack) -> None:
        """Link buttons open in the browser; Slack still wants the click acknowledged."""
        await ack()

    async def _deliver(self, ctx: Invocation, reply: Reply) -> None:
        """Answer outside a slash command: privately to the user, or in the channel
        (in the thread of the message a shortcut was used on)."""
        try:
            if reply.ephemeral and ctx.channel_id:
                await self.client.chat_postEphemeral(
                    channel=ctx.channel_id, user=ctx.user.id, **reply_message(reply)
                )
            elif reply.ephemeral or not ctx.channel_id:
                await self.direct(ctx.user.id, reply)
            else:
                thread = reply.in_reply_to.id if reply.in_reply_to else None
                await self.post(Destination(self.name, ctx.channel_id, thread), reply)
        except (SlackApiError, DeliveryError) as error:
            log.warning("Slack: could not answer %s: %s", ctx.user.id, error)

    async def invocation(self, command: str, user_id: str, body: dict[str, Any]) -> Invocation:
        """Who is asking, with their e-mail and admin rights from `users.info` (cached)."""
        profile = await self.profile(user_id)
        team = body.get("team") or {}
        return Invocation(
            command=command,
            user=User(
                platform="slack",
                id=user_id,
                name=profile.name or body.get("user_name") or user_id,
                display_name=profile.display_name,
                email=profile.email,
                workspace=body.get("team_domain") or team.get("domain"),
            ),
            guild_id=body.get("team_id") or team.get("id"),
            channel_id=body.get("channel_id"),
            is_admin=profile.admin,
        )

    async def profile(self, user_id: str) -> Profile:
        """A workspace admin or owner, or a member of an allowed user group (cached)."""
        cached = self._profiles.get(user_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        profile = Profile()
        try:
            user = (await self.client.users_info(user=user_id))["user"]
            details = user.get("profile") or {}
            profile = Profile(
                name=user.get("name"),
                display_name=details.get("display_name") or user.get("real_name"),
                email=details.get("email"),
                admin=bool(user.get("is_admin") or user.get("is_owner")),
            )
            for group in self.settings.slack_admin_group_ids:
                if profile.admin:
                    break
                members = await self.client.usergroups_users_list(usergroup=group)
                profile.admin = user_id in members.get("users", [])
        except SlackApiError as error:
            reason = error.response.get("error")
            log.warning("Slack: cannot look up %s: %s", user_id, reason)
        self._profiles[user_id] = (profile, time.monotonic() + PROFILE_CACHE_SECONDS)
        return profile

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
