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
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.cmdline import parse
from bot.commands import CommandSpec, OptionKind
from bot.dispatch import error_reply, execute, execute_action
from bot.errors import DeliveryError, StartError, UserError
from bot.followups import card_posted
from bot.forms import form_capable, parse_action_id
from bot.i18n import _, resolve, speaking
from bot.models import Destination, Invocation, MessageRef, Reply, User
from bot.platforms.outbound import ForwardsOutbound
from bot.platforms.slack_forms import (
    FORM_CALLBACK,
    SLACK_KINDS,
    FormContext,
    build_view,
    file_attachments,
    shared_files,
    submitted_values,
)
from bot.platforms.slack_outbound import SlackOutbound
from bot.platforms.slack_render import LINK_ACTION, reply_message
from bot.platforms.slack_retry import connection_retry_handlers

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
PROFILE_CACHE_SECONDS = 300.0
PROFILE_CACHE_SIZE = 1000
"""Profiles kept at most: the least recently used go first."""
MENU_PREFIX = "herald:menu:"
SOCKET_PING_SECONDS = 10.0
"""Socket Mode's ping interval (slack-sdk's default): a connection that has not answered
for four of them is stale, and a lost one is retried at this pace."""

Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


@dataclass(slots=True)
class Profile:
    """What Herald needs to know of a Slack user, from `users.info`.

    `language` is the shipped language for the locale the user chose in Slack
    (`es-ES` speaks `es`); None when Slack did not say.
    """

    name: str | None = None
    display_name: str | None = None
    email: str | None = None
    admin: bool = False
    language: str | None = None


def menu_callback(spec: CommandSpec) -> str:
    """The callback id of a command's message shortcut (as in the app manifest)."""
    return f"{MENU_PREFIX}{spec.name}"


_MARKUP = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_MENTION = re.compile(r"<([!@#][^<>|]*)(?:\|([^<>]*))?>")


def _typed(spec: CommandSpec, name: str, value: str) -> str:
    """What the user typed, from Slack's escaped command text.

    Slack sends `&`, `<` and `>` as entities and (with `should_escape`) turns
    mentions into `<#C123|name>`, `<@U123|name>` and `<https://…|label>`. A
    channel or role (user group) option keeps the id; other text gets back
    what was typed, except that a mention typed out in full (`&lt;!channel&gt;`)
    comes back as the readable `@channel`, never as live markup.
    """
    param = spec.param(name)
    if param is not None and param.kind in (OptionKind.CHANNEL, OptionKind.ROLE):
        return value
    typed = _unescape(_MARKUP.sub(_readable, value))
    while (readable := _MENTION.sub(_readable, typed)) != typed:  # `<<!here>>` takes two
        typed = readable
    return typed


def _readable(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("#", "@")):
        return target[0] + (label or target[1:])
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    return target


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _socket_up(client: SocketModeClient) -> bool:
    """What slack-sdk's `is_connected()` checks, read without awaiting: not closed, a
    session that is open and not stale, and a pong within four ping intervals."""
    session = client.current_session
    last_pong = client.last_ping_pong_time
    pong_late = last_pong is not None and time.time() - last_pong >= 4 * client.ping_interval
    return not (client.closed or client.stale or pong_late or session is None or session.closed)


def _permalink(domain: str | None, channel: str, ts: str | None) -> str | None:
    if not domain or not ts:
        return None
    return f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"


class _App(AsyncApp):
    """bolt's app, timing acknowledgements: `async_dispatch` returns as soon as a
    listener acks (the rest runs on), in Socket Mode and HTTP mode alike."""

    def __init__(self, acknowledged: Callable[[float], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acknowledged = acknowledged

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        started = time.monotonic()
        response = await super().async_dispatch(req)
        if response.status == 200:
            self._acknowledged(time.monotonic() - started)
        return response


class SlackPlatform(ForwardsOutbound):
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
            # slack-sdk's own connection-error handler (made safe for posts, see
            # slack_retry), plus waiting out a 429.
            retry_handlers=[
                *connection_retry_handlers(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.outbound = SlackOutbound(self.client, salt=core.instance_id)
        secret = settings.slack_signing_secret
        self.app = _App(
            lambda seconds: core.metrics.acknowledged(self.name, seconds),
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
        self._profiles: OrderedDict[str, tuple[Profile, float]] = OrderedDict()
        self.profile_cache_size = PROFILE_CACHE_SIZE
        self._groups: tuple[dict[str, set[str]], float] | None = None
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
                self.app,
                self.settings.slack_app_token.get_secret_value(),
                web_client=self.client,
                ping_interval=SOCKET_PING_SECONDS,
            )
            await self._socket.connect_async()
            mode = "Socket Mode"
        else:
            mode = f"HTTP mode (Slack posts to {EVENTS_PATH})"
        self._state = "connected"
        log.info("Slack: connected to %s as %s, %s", auth.get("team"), auth.get("user"), mode)

    def status(self) -> str:
        """Once started, Socket Mode's status follows its websocket: slack-sdk
        reconnects by itself, and the status says `disconnected` until it has."""
        if self._state == "connected" and self._socket is not None:
            return "connected" if _socket_up(self._socket.client) else "disconnected"
        return self._state

    def channel_language(self, channel_id: str) -> str | None:
        """Slack has no workspace language: channels speak HERALD_LANGUAGE unless set."""
        return None

    async def close(self) -> None:
        self._state = "closed"
        if self._socket is not None:
            await self._socket.close_async()

    async def _on_http(self, request: web.Request) -> web.Response:
        try:
            bolt_request = await to_bolt_request(request)
        except (RecursionError, ValueError):
            # bolt parses the body before it checks the signature: a body it cannot
            # parse (malformed, or nested deep enough to exhaust the stack) is refused.
            log.warning("Slack event refused (400, unreadable body) from %s", request.remote)
            return web.json_response({"error": "the body is not readable"}, status=400)
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def _on_command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """Acknowledge at once (Slack's 3 seconds), then answer through `respond`.

        A command given without its required options opens a modal instead.
        """
        await ack()
        with speaking(await self.language(body["user_id"])):
            await self._command(body, respond)

    async def _command(self, body: dict[str, Any], respond: Respond) -> None:
        line = f"{body['command'].lstrip('/')} {body.get('text') or ''}"
        try:
            spec, raw = parse(line, self.core.commands)
        except UserError as error:
            await respond(**reply_message(error_reply(error.message)), response_type="ephemeral")
            return
        raw = {name: _typed(spec, name, value) for name, value in raw.items()}
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
        reply = await execute(spec, ctx, self.core)
        private = reply.ephemeral or spec.ephemeral
        channel_id: str | None = body.get("channel_id")
        card = not private and reply.on_posted is not None
        if card and channel_id and await self._post_card(channel_id, reply):
            return
        await respond(
            **reply_message(reply), response_type="ephemeral" if private else "in_channel"
        )

    async def _post_card(self, channel_id: str, reply: Reply) -> bool:
        """Post a public card whose status follow-ups will edit it, as the bot.

        An answer through `respond` (the response_url) gives no message ts to
        edit later, and the response_url expires after 30 minutes; so a card
        with `on_posted` goes out with chat.postMessage instead. False when
        Slack refuses it (the bot not in the channel, ...): the caller then
        answers through `respond` as before, only without the later edits.
        """
        try:
            posted = await self.post(Destination(self.name, channel_id), reply)
        except DeliveryError as error:
            log.info("Slack: card answered through response_url instead: %s", error)
            return False
        await card_posted(reply, posted)
        return True

    async def _on_shortcut(self, ack: Ack, body: dict[str, Any]) -> None:
        """A message shortcut ("Report as bug"): a modal prefilled with the message."""
        await ack()
        with speaking(await self.language(body["user"]["id"])):
            await self._shortcut(body)

    async def _shortcut(self, body: dict[str, Any]) -> None:
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
            files=shared_files(message),
        )
        given = {spec.message_option: message.get("text", "")} if spec.message_option else {}
        title = _(spec.message_menu) if spec.message_menu else ""
        await self._open_form(spec, body["trigger_id"], context, given, title)

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
        with speaking(await self.language(body["user"]["id"])):
            await self._form(ack, body, view)

    async def _form(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
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
                attachments=file_attachments(
                    context.files or [], self.client.token or "", self.settings.slack_api_url
                ),
            )
        try:
            ctx.options = spec.bind(raw)
        except UserError as error:
            await self._deliver(ctx, error_reply(error.message))
            return
        await self._deliver(ctx, await execute(spec, ctx, self.core))

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
        with speaking(ctx.locale):
            reply = await execute_action(ref, argument, ctx, self.core)
            if reply.ephemeral:
                await respond(**reply_message(reply), replace_original=True)
                return
            await self._deliver(ctx, reply)
            await respond(**reply_message(Reply(text=_("✅ Done."))), replace_original=True)

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
                posted = await self.post(Destination(self.name, ctx.channel_id), reply)
                await card_posted(reply, posted)
        except (SlackApiError, DeliveryError) as error:
            log.warning("Slack: could not answer %s: %s", ctx.user.id, error)

    async def invocation(self, command: str, user_id: str, body: dict[str, Any]) -> Invocation:
        """Who is asking: their e-mail, user groups (as roles) and admin rights.

        Admins are workspace admins and owners, and members of the user groups
        in `SLACK_ADMIN_GROUP_IDS`.
        """
        profile = await self.profile(user_id)
        groups = await self.user_groups(user_id)
        admin_groups = set(self.settings.slack_admin_group_ids)
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
            locale=profile.language,
            is_admin=profile.admin or bool(groups & admin_groups),
            roles=groups,
        )

    async def user_groups(self, user_id: str) -> frozenset[str]:
        """The user groups `user_id` belongs to: a Slack user's "roles" (cached)."""
        if self._groups is None or self._groups[1] <= time.monotonic():
            members: dict[str, set[str]] = {}
            try:
                listed = await self.client.usergroups_list(include_users=True)
                for group in listed.get("usergroups") or []:
                    for member in group.get("users", []):
                        members.setdefault(member, set()).add(group["id"])
            except SlackApiError as error:
                log.warning("Slack: cannot list user groups: %s", error.response.get("error"))
            self._groups = (members, time.monotonic() + PROFILE_CACHE_SECONDS)
        return frozenset(self._groups[0].get(user_id, ()))

    async def language(self, user_id: str) -> str | None:
        """The language `user_id` reads Slack in (cached with their profile)."""
        return (await self.profile(user_id)).language

    async def profile(self, user_id: str) -> Profile:
        """Name, e-mail, language and whether a workspace admin or owner, from
        `users.info` (cached)."""
        cached = self._profiles.get(user_id)
        if cached and cached[1] > time.monotonic():
            self._profiles.move_to_end(user_id)
            return cached[0]
        profile = Profile()
        try:
            user = (await self.client.users_info(user=user_id, include_locale=True))["user"]
            details = user.get("profile") or {}
            locale = user.get("locale")
            profile = Profile(
                name=user.get("name"),
                display_name=details.get("display_name") or user.get("real_name"),
                email=details.get("email"),
                admin=bool(user.get("is_admin") or user.get("is_owner")),
                language=resolve(locale) if locale else None,
            )
        except SlackApiError as error:
            reason = error.response.get("error")
            log.warning("Slack: cannot look up %s: %s", user_id, reason)
        self._profiles[user_id] = (profile, time.monotonic() + PROFILE_CACHE_SECONDS)
        self._profiles.move_to_end(user_id)
        while len(self._profiles) > self.profile_cache_size:
            self._profiles.popitem(last=False)
        return profile
