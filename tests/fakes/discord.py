"""A fake Discord: REST API under /api/v10 and a gateway websocket, on 127.0.0.1.

It checks what Discord checks where Herald could get it wrong: the bot token,
the 3-second deadline and single acknowledgement of an interaction, the
message and embed limits, and the shape of modals (at most five labelled
fields, a modal only as the first answer), answering 400 / 50035 as Discord
does. It also serves attachments as Discord's CDN would.

Channel messages behave as Discord's do where delivery depends on it: at most
`channel_limit` creates per window in a channel (a thread being a channel of
its own), answered past that with 429, `Retry-After`, the `X-RateLimit-*`
headers and `Via` as Discord sends them; `nonce` + `enforce_nonce` return the
message already created; threads start from a message and take its id.
`fail(status)` injects errors, `hang_after_create` loses answers, `refuse`
makes chosen content invalid (400 / 50035). `drop_gateway` closes the gateway
connections and refuses new ones until `reopen_gateway`; a bot that comes back
resumes its session (RESUME, answered with RESUMED). While `ready_sent` is
cleared, an IDENTIFY waits for its READY.

Sharding is Discord's: `GET /gateway/bot` recommends `recommended_shards` and
lets `identify_slots` shards identify at once (`max_concurrency`), a
connection serves the shard its IDENTIFY names (`shard: [id, count]`, recorded
in `identifies`), and a guild's events go only to the connection of shard
`(guild_id >> 22) % count` (events outside a guild to shard 0).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import CALL, Call, FakeServer, json_response

API = "/api/v10"
TOKEN = "fake-discord-token.XYZ"
APP_ID = 111111111111111111
GUILD_ID = 222222222222222222
CHANNEL_ID = 333333333333333333
USER_ID = 444444444444444444
ADMIN = 0x20  # MANAGE_GUILD
EVERYONE = 0x800 | 0x400  # SEND_MESSAGES | VIEW_CHANNEL
EPHEMERAL = 1 << 6
DEADLINE = 3.0
MODAL = 9
TEXT_INPUT, STRING_SELECT, LABEL, FILE_UPLOAD = 4, 3, 18, 19
THREAD_EXISTS = 160004


def guild_on_shard(shard_id: int, count: int) -> int:
    """A guild id whose events Discord sends on shard `shard_id` of `count`."""
    return ((GUILD_ID >> 22) // count * count + shard_id) << 22


@dataclass
class Interaction:
    id: int
    token: str
    created: float
    acknowledged: bool = False
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: int | None = None  # the public original response, once it has content

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal this interaction was answered with, if any."""
        return next((c["data"] for c in self.callbacks if c.get("type") == MODAL), None)


def invalid_form(errors: dict[str, Any]) -> web.Response:
    return json_response({"code": 50035, "message": "Invalid Form Body", "errors": errors}, 400)


def check_message(payload: dict[str, Any]) -> dict[str, str]:
    """Discord's message limits; returns the violations (empty when valid)."""
    problems: dict[str, str] = {}
    if len(payload.get("content") or "") > 2000:
        problems["content"] = "Must be 2000 or fewer in length."
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for index, embed in enumerate(embeds):
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            size = len(embed.get(key) or "")
            total += size
            if size > limit:
                problems[f"embeds.{index}.{key}"] = f"Must be {limit} or fewer in length."
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{index}.fields"] = "Must be 25 or fewer in length."
        for f in fields:
            total += len(f["name"]) + len(f["value"])
            if len(f["name"]) > 256 or len(f["value"]) > 1024 or not f["value"]:
                problems[f"embeds.{index}.fields"] = "Invalid field."
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
        if len(footer) > 2048 or len(author) > 256:
            problems[f"embeds.{index}"] = "Footer or author too long."
    if total > 6000:
        problems["embeds"] = "Embed size exceeds maximum size of 6000"
    return problems


def check_modal(modal: dict[str, Any]) -> dict[str, str]:
    """Discord's modal rules: a title, a custom id, one to five labelled inputs."""
    problems: dict[str, str] = {}
    if not 1 <= len(modal.get("title") or "") <= 45:
        problems["title"] = "Must be between 1 and 45 in length."
    if not 1 <= len(modal.get("custom_id") or "") <= 100:
        problems["custom_id"] = "Must be between 1 and 100 in length."
    components = modal.get("components") or []
    if not 1 <= len(components) <= 5:
        problems["components"] = "Must be between 1 and 5 in length."
    for index, label in enumerate(components):
        inner = label.get("component") or {}
        where = f"components.{index}"
        if label.get("type") != LABEL or not 1 <= len(label.get("label") or "") <= 45:
            problems[where] = "A modal field is a label (type 18) of 1 to 45 characters."
        elif inner.get("type") not in (TEXT_INPUT, STRING_SELECT, FILE_UPLOAD):
            problems[where] = "Unsupported component in a label."
        elif inner.get("type") == TEXT_INPUT:
            limit = inner.get("max_length") or 4000
            if limit > 4000 or len(inner.get("value") or "") > limit or inner.get("label"):
                problems[where] = "Invalid text input."
        elif inner.get("type") == STRING_SELECT and not 1 <= len(inner.get("options") or []) <= 25:
            problems[where] = "A select has 1 to 25 options."
    return problems


class FakeDiscord(FakeServer):
    def __init__(self) -> None:
        self.interactions: dict[int, Interaction] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.sockets: list[_Socket] = []
        self.identified = asyncio.Event()
        self.messages: dict[int, dict[str, Any]] = {}
        self.closed_dms: set[int] = set()  # user ids whose DMs are closed
        self.dm_channels: dict[int, int] = {}  # DM channel id -> user id
        self.missing_channels: set[int] = set()
        self.files: dict[str, tuple[bytes, str]] = {}  # CDN path -> (data, content type)
        self.forbidden_channels: set[int] = set()
        self.threads: dict[int, dict[str, Any]] = {}
        self.channel_limit: tuple[int, float] | None = (5, 5.0)
        self.rate_limited: list[Call] = []
        self.hang_after_create = 0
        self.created_at: dict[int, float] = {}  # message id -> time.monotonic() of creation
        # Every version of every channel message, created or edited, in order:
        # (time.monotonic() when stored, message id, the message as it then read).
        self.revisions: list[tuple[float, int, dict[str, Any]]] = []
        self._windows: dict[int, tuple[float, int]] = {}
        self._failures: list[tuple[int, str, int]] = []
        self.refusals: list[tuple[str, bool]] = []
        self._stopping = asyncio.Event()
        self.gateway_open = True
        self.resumes = 0
        self.ready_sent = asyncio.Event()
        self.ready_sent.set()
        # The test server's preferred locale; when set, READY carries the server (with
        # its channel) as the gateway's guild cache would hold it.
        self.guild_locale: str | None = None
        self.recommended_shards = 1
        self.identify_slots = 1  # session_start_limit.max_concurrency
        self.identifies: list[tuple[int, int]] = []  # (shard id, shard count) per IDENTIFY
        self._nonces: dict[tuple[int, str], int] = {}
        self._ids = itertools.count(900000000000000000)
        self._seq = 0
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"{API}/users/@me", self._me)
        router.add_get(f"{API}/oauth2/applications/@me", self._application)
        router.add_get(f"{API}/gateway/bot", self._gateway_bot)
        router.add_put(f"{API}/applications/{{app}}/commands", self._put_commands)
        router.add_put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self._put_commands)
        router.add_post(f"{API}/interactions/{{id}}/{{token}}/callback", self._callback)
        router.add_patch(
            f"{API}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original
        )
        router.add_delete(
            f"{API}/webhooks/{{app}}/{{token}}/messages/@original", self._delete_original
        )
        router.add_post(f"{API}/webhooks/{{app}}/{{token}}", self._followup)
        router.add_post(f"{API}/channels/{{channel}}/messages", self._create_message)
        router.add_patch(f"{API}/channels/{{channel}}/messages/{{message}}", self._edit_message)
        router.add_post(
            f"{API}/channels/{{channel}}/messages/{{message}}/threads", self._start_thread
        )
        router.add_post(f"{API}/users/@me/channels", self._open_dm)
        router.add_get("/attachments/{channel}/{id}/{filename}", self._cdn)
        router.add_get("/gateway", self._gateway)

    async def stop(self) -> None:
        self._stopping.set()
        for socket in list(self.sockets):
            await socket.ws.close()
        await super().stop()

    @property
    def api_base(self) -> str:
        return f"{self.url}{API}"

    # --- helpers for tests -------------------------------------------------

    def snowflake(self) -> int:
        return next(self._ids)

    def fail(self, status: int, count: int = 1, on: str = "/messages", code: int = 0) -> None:
        """Answer the next `count` channel calls whose path holds `on` with `status`
        (and Discord's error `code`)."""
        self._failures.extend([(status, on, code)] * count)

    def refuse(self, text: str, *, plain_too: bool = False) -> None:
        """Refuse (400, 50035) a message whose embeds hold `text` (its content too with
        `plain_too`), as Discord refuses an embed it cannot take."""
        self.refusals.append((text, plain_too))

    def _refused(self, payload: dict[str, Any]) -> bool:
        embeds = json.dumps(payload.get("embeds") or [])
        content = payload.get("content") or ""
        return any(t in embeds or (plain and t in content) for t, plain in self.refusals)

    def text_of(self, message: dict[str, Any]) -> str:
        """Everything a reader sees in a message: content and every embed's text."""
        parts = [message.get("content") or ""]
        for embed in message.get("embeds") or []:
            parts.extend(str(embed.get(k) or "") for k in ("title", "description"))
            parts.extend(f"{f['name']}: {f['value']}" for f in embed.get("fields") or [])
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)

    def user(
        self, user_id: int = USER_ID, name: str = "ada", discriminator: str = "0"
    ) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": discriminator,
            "global_name": name.capitalize(),
            "avatar": None,
        }

    def command_interaction(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        subcommand: str | tuple[str, str] | None = None,
        user: dict[str, Any] | None = None,
        permissions: int = EVERYONE,
        roles: list[int] | None = None,
        resolved: dict[str, Any] | None = None,
        attachments: dict[str, dict[str, Any]] | None = None,
        option_types: dict[str, int] | None = None,
        channels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An APPLICATION_COMMAND interaction as Discord sends it in INTERACTION_CREATE."""
        resolved = dict(resolved or {})
        if attachments:
            resolved["attachments"] = attachments
        opts = []
        for key, value in (options or {}).items():
            kind = (option_types or {}).get(key) or _option_type(value)
            opts.append({"name": key, "type": kind, "value": value})
        data: dict[str, Any] = {
            "id": str(self.snowflake()),
            "name": name,
            "type": 1,
            "options": opts,
        }
        if isinstance(subcommand, tuple):
            group, leaf = subcommand
            leaf_option = {"name": leaf, "type": 1, "options": opts}
            data["options"] = [{"name": group, "type": 2, "options": [leaf_option]}]
        elif subcommand:
            data["options"] = [{"name": subcommand, "type": 1, "options": opts}]
        if channels:
            # option name -> channel id; Discord sends the id and resolves the channel
            for option, channel_id in channels.items():
                opts.append({"name": option, "type": 7, "value": channel_id})
            resolved["channels"] = {c: self._channel_data(int(c)) for c in channels.values()}
        if resolved:
            data["resolved"] = resolved
        return self._interaction(2, data, user=user, permissions=permissions, roles=roles)

    def role(self, role_id: int, name: str) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "hoist": False,
            "position": 1,
            "permissions": "0",
            "managed": False,
            "mentionable": True,
            "flags": 0,
        }

    def attachment(
        self, filename: str, data: bytes, content_type: str = "image/png", size: int | None = None
    ) -> dict[str, Any]:
        """An attachment as Discord resolves it; its bytes are served at its `url`.

        `size` may differ from the real length, as a lying client would make it.
        """
        attachment_id = str(self.snowflake())
        path = f"/attachments/{CHANNEL_ID}/{attachment_id}/{filename}"
        self.files[path] = (data, content_type)
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(data) if size is None else size,
            "url": f"{self.url}{path}?ex=1&is=2&hm=3",
            "proxy_url": f"{self.url}{path}",
            "content_type": content_type,
        }

    def message_payload(
        self, content: str, *, author: dict[str, Any] | None = None, channel_id: int = CHANNEL_ID
    ) -> dict[str, Any]:
        """A message another user posted, as Discord sends it in `resolved.messages`."""
        return {
            **self._message({"content": content}, channel_id),
            "author": author or self.user(555555555555555555, "grace"),
        }

    def message_command_interaction(
        self, name: str, message: dict[str, Any], **options: Any
    ) -> dict[str, Any]:
        """A message context-menu command (type 3) used on `message`."""
        data = {
            "id": str(self.snowflake()),
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        return self._interaction(2, data, **options)

    def modal_submit(
        self,
        opened: dict[str, Any],
        values: dict[str, Any],
        *,
        attachments: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The MODAL_SUBMIT a user sends after filling in the modal `opened` was answered with.

        Fields not in `values` keep the modal's prefilled value (selects: the
        default option); file uploads take attachment dicts from `attachment`.
        """
        interaction = self.interactions[int(opened["id"])]
        modal = interaction.modal
        assert modal is not None, "the interaction was not answered with a modal"
        components = []
        resolved: dict[str, Any] = {}
        for label in modal["components"]:
            inner = label["component"]
            key = inner["custom_id"]
            if inner["type"] == TEXT_INPUT:
                value = values.get(key, inner.get("value") or "")
                submitted = {"type": TEXT_INPUT, "custom_id": key, "value": value}
            elif inner["type"] == STRING_SELECT:
                default = [o["value"] for o in inner["options"] if o.get("default")]
                chosen = [values[key]] if values.get(key) is not None else default
                submitted = {"type": STRING_SELECT, "custom_id": key, "values": chosen}
            else:
                files = values.get(key) or []
                resolved.update({f["id"]: f for f in files})
                submitted = {
                    "type": FILE_UPLOAD,
                    "custom_id": key,
                    "values": [f["id"] for f in files],
                }
            components.append({"type": LABEL, "component": submitted})
        data: dict[str, Any] = {"custom_id": modal["custom_id"], "components": components}
        if resolved or attachments:
            data["resolved"] = {"attachments": {**resolved, **(attachments or {})}}
        return self._interaction(5, data)

    def button_press(
        self, message: dict[str, Any], label: str, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A MESSAGE_COMPONENT interaction: the button called `label` on `message` pressed."""
        buttons = [b for row in message.get("components") or [] for b in row["components"]]
        button = next((b for b in buttons if b.get("label") == label), None)
        assert button is not None, (
            f"no button {label!r}; buttons: {[b.get('label') for b in buttons]}"
        )
        assert "custom_id" in button, f"{label!r} is a link button"
        data = {"custom_id": button["custom_id"], "component_type": 2}
        payload = self._interaction(3, data, user=user)
        payload["message"] = {**message, "flags": message.get("flags", 0)}
        return payload

    def _channel_data(self, channel_id: int) -> dict[str, Any]:
        return {
            "id": str(channel_id),
            "type": 0,
            "name": f"channel-{str(channel_id)[-4:]}",
            "permissions": str(EVERYONE),
            "parent_id": None,
            "guild_id": str(GUILD_ID),
        }

    def autocomplete_interaction(
        self, name: str, focused: str, current: str, **others: Any
    ) -> dict[str, Any]:
        opts = [{"name": k, "type": _option_type(v), "value": v} for k, v in others.items()]
        opts.append({"name": focused, "type": 3, "value": current, "focused": True})
        data = {"id": str(self.snowflake()), "name": name, "type": 1, "options": opts}
        return self._interaction(4, data)

    async def autocomplete(self, name: str, focused: str, current: str, **others: Any) -> list[Any]:
        """Run an autocomplete interaction; the choices Herald offered."""
        payload = self.autocomplete_interaction(name, focused, current, **others)
        await self.interact(payload)
        (callback,) = await self.wait_for("POST", f"/interactions/{payload['id']}/")
        assert callback.json["type"] == 8
        return callback.json["data"]["choices"]

    async def opened_modal(self, payload: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
        """Dispatch `payload` and return the modal Herald answered it with."""
        await self.interact(payload)
        (callback,) = await self.wait_for(
            "POST", f"/interactions/{payload['id']}/", timeout=timeout
        )
        assert callback.json["type"] == MODAL, f"expected a modal, got {callback.json}"
        return callback.json["data"]

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: dict[str, Any] | None = None,
        permissions: int = EVERYONE,
        roles: list[int] | None = None,
    ) -> dict[str, Any]:
        interaction_id = self.snowflake()
        token = f"interaction-token-{interaction_id}"
        self.interactions[interaction_id] = Interaction(interaction_id, token, time.monotonic())
        return {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            },
            "member": {
                "user": user or self.user(),
                "roles": [str(r) for r in roles or []],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            },
            "token": token,
            "version": 1,
            "locale": "en-GB",
            "guild_locale": "en-US",
            "app_permissions": str(EVERYONE),
            "attachment_size_limit": 25 * 1024 * 1024,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
        }

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway DISPATCH to every connected bot, on the shard that serves
        the event's guild."""
        await asyncio.wait_for(self.identified.wait(), 5)
        self._seq += 1
        guild_id = int(data.get("guild_id") or 0)
        for socket in self.sockets:
            if socket.serves(guild_id):
                await socket.send({"op": 0, "t": event, "s": self._seq, "d": data})

    @staticmethod
    def in_guild(payload: dict[str, Any], guild_id: int) -> dict[str, Any]:
        """The interaction `payload` as if it happened in guild `guild_id`."""
        return {
            **payload,
            "guild_id": str(guild_id),
            "channel": {**payload["channel"], "guild_id": str(guild_id)},
            "authorizing_integration_owners": {"0": str(guild_id)},
        }

    async def interact(self, payload: dict[str, Any]) -> Interaction:
        await self.dispatch("INTERACTION_CREATE", payload)
        return self.interactions[int(payload["id"])]

    async def answer_to(self, payload: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
        """The message the user finally sees: the edited original or a follow-up."""
        token = payload["token"]

        def answers() -> list[Call]:
            return [
                c
                for c in self.calls
                if token in c.path and "/webhooks/" in c.path and c.method in ("PATCH", "POST")
            ]

        async def arrived() -> None:
            async with self.new_call:
                await self.new_call.wait_for(lambda: bool(answers()))

        try:
            await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            seen = [f"{c.method} {c.path}" for c in self.calls]
            raise AssertionError(
                f"no answer to the interaction within {timeout}s; saw {seen}"
            ) from None
        return answers()[-1].json

    def callbacks_for(self, payload: dict[str, Any]) -> list[Call]:
        return self.find("POST", f"/interactions/{payload['id']}/")

    def webhook_calls(self, payload: dict[str, Any], method: str) -> list[Call]:
        return self.find(method, f"/webhooks/{APP_ID}/{payload['token']}")

    # --- REST --------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {TOKEN}"

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        return json_response({**self.user(APP_ID, "herald"), "bot": True, "flags": 0})

    async def _application(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        return json_response(
            {
                "id": str(APP_ID),
                "name": "Herald",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": self.user(555, "owner"),
                "team": None,
            }
        )

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        return json_response(
            {
                "url": f"ws://127.0.0.1:{self.port}/gateway",
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": self.identify_slots,
                },
            }
        )

    async def _put_commands(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        payload = request[CALL].json
        scope = request.match_info.get("guild", "global")
        menus = [c for c in payload if c.get("type") == 3]
        if len(menus) > 5 or any(c.get("options") for c in menus):
            return invalid_form({"type": "At most 5 message commands, without options."})
        self.commands[scope] = payload
        answer = [
            {
                "description": "",
                **c,
                "id": str(self.snowflake()),
                "application_id": str(APP_ID),
                "version": "1",
            }
            for c in payload
        ]
        return json_response(answer)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(int(request.match_info["id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            return json_response({"message": "Unknown interaction", "code": 10062}, 404)
        if time.monotonic() - interaction.created > DEADLINE:
            return json_response({"message": "Unknown interaction", "code": 10062}, 404)
        if interaction.acknowledged:
            return json_response(
                {"message": "Interaction has already been acknowledged.", "code": 40060}, 400
            )
        body = request[CALL].json or {}
        kind = body.get("type")
        data = body.get("data") or {}
        if kind in (4, 7) and (problems := check_message(data)):
            return invalid_form(problems)
        if kind == MODAL and (problems := check_modal(data)):
            return invalid_form(problems)
        interaction.acknowledged = True
        interaction.callbacks.append(body)
        flags = data.get("flags", 0) or 0
        resource: dict[str, Any] = {"type": kind}
        if kind == 4:
            resource["message"] = self._message(data)
        return json_response(
            {
                "interaction": {
                    "id": str(interaction.id),
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(flags & EPHEMERAL),
                },
                "resource": resource,
            }
        )

    async def _edit_original(self, request: web.Request) -> web.Response:
        """A public original response is a channel message (the bot may edit it later
        through the channel); a private one is not."""
        payload = request[CALL].json or {}
        if problems := check_message(payload):
            return invalid_form(problems)
        interaction = self._by_token(request.match_info["token"])
        public = interaction is not None and not any(
            (c.get("data") or {}).get("flags", 0) & EPHEMERAL for c in interaction.callbacks
        )
        message = self._message(payload)
        if interaction is not None and public:
            if interaction.original is None:
                interaction.original = int(message["id"])
            message["id"] = str(interaction.original)
            self.messages[interaction.original] = message
        return json_response(message)

    def _by_token(self, token: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    async def _delete_original(self, _: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        payload = request[CALL].json or {}
        if problems := check_message(payload):
            return invalid_form(problems)
        message = self._message(payload)
        if not payload.get("flags", 0) & EPHEMERAL:
            self.messages[int(message["id"])] = message
        return json_response(message)

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages currently in a channel, oldest first, with their latest edits."""
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Auth, injected failures and the channel's existence and access, as Discord checks."""
        if not self._authorised(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        for index, (status, on, code) in enumerate(self._failures):
            if on in request.path:
                del self._failures[index]
                if status >= 500:
                    return web.Response(status=status, text="upstream connect error")
                return json_response({"message": f"Injected {status}", "code": code}, status)
        channel = int(request.match_info["channel"])
        if channel in self.missing_channels:
            return json_response({"message": "Unknown Channel", "code": 10003}, 404)
        if channel in self.forbidden_channels:
            return json_response({"message": "Missing Access", "code": 50001}, 403)
        return None

    def _rate_limit(self, channel: int) -> tuple[web.Response | None, dict[str, str]]:
        """Discord's per-channel message bucket: a 429 past the limit, else the headers."""
        if self.channel_limit is None:
            return None, {}
        limit, per = self.channel_limit
        now = time.monotonic()
        start, used = self._windows.get(channel, (now, 0))
        if now - start >= per:
            start, used = now, 0
        reset_after = max(0.0, start + per - now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"channel-messages-{channel}",
        }
        if used >= limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(math.ceil(reset_after)),
                    "Via": "1.1 google",
                }
            )
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(reset_after, 3),
                "global": False,
                "code": 0,
            }
            return json_response(body, 429, headers), headers
        self._windows[channel] = (start, used + 1)
        headers["X-RateLimit-Remaining"] = str(limit - used - 1)
        return None, headers

    async def _create_message(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        channel = int(request.match_info["channel"])
        if self.dm_channels.get(channel) in self.closed_dms:
            return json_response(
                {"message": "Cannot send messages to this user", "code": 50007}, 403
            )
        payload = request[CALL].json or {}
        if problems := check_message(payload):
            return invalid_form(problems)
        if self._refused(payload):
            return invalid_form({"embeds.0": "Refused by the test."})
        limited, headers = self._rate_limit(channel)
        if limited is not None:
            self.rate_limited.append(request[CALL])
            return limited
        nonce = payload.get("nonce")
        if nonce and payload.get("enforce_nonce") and (channel, nonce) in self._nonces:
            return json_response(self.messages[self._nonces[channel, nonce]], headers=headers)
        message = self._message(payload, channel)
        message_id = int(message["id"])
        self.messages[message_id] = message
        self.created_at[message_id] = time.monotonic()
        self.revisions.append((self.created_at[message_id], message_id, dict(message)))
        if nonce:
            self._nonces[channel, nonce] = message_id
        if self.hang_after_create > 0:
            self.hang_after_create -= 1
            await self._stopping.wait()
        return json_response(message, headers=headers)

    async def _start_thread(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        channel, message_id = int(request.match_info["channel"]), int(request.match_info["message"])
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != str(channel):
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        if message_id in self.threads:
            return json_response(
                {
                    "message": "A thread has already been created for this message",
                    "code": THREAD_EXISTS,
                },
                400,
            )
        name = (request[CALL].json or {}).get("name") or ""
        if not 1 <= len(name) <= 100:
            return invalid_form({"name": "Must be between 1 and 100 in length."})
        thread = {
            "id": str(message_id),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(channel),
            "name": name,
            "owner_id": str(APP_ID),
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": (request[CALL].json or {}).get("auto_archive_duration"),
                "archive_timestamp": "2026-11-22T12:00:00+00:00",
                "locked": False,
            },
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "total_message_sent": 0,
        }
        self.threads[message_id] = thread
        return json_response(thread, 201)

    async def _edit_message(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        message = self.messages.get(int(request.match_info["message"]))
        if message is None or message["channel_id"] != request.match_info["channel"]:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        payload = request[CALL].json or {}
        if problems := check_message(payload) or self._refused(payload):
            return invalid_form(problems or {"embeds.0": "Refused by the test."})
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = payload[key] or ([] if key != "content" else "")
        message["edited_timestamp"] = "2026-11-22T12:00:01+00:00"
        self.revisions.append((time.monotonic(), int(message["id"]), dict(message)))
        return json_response(message)

    async def _cdn(self, request: web.Request) -> web.Response:
        found = self.files.get(request.path)
        if found is None:
            return web.Response(status=404, text="Not Found")
        data, content_type = found
        return web.Response(body=data, content_type=content_type)

    async def _open_dm(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        recipient = (request[CALL].json or {})["recipient_id"]
        channel_id = self.snowflake()
        self.dm_channels[channel_id] = int(recipient)
        return json_response(
            {
                "id": str(channel_id),
                "type": 1,
                "last_message_id": None,
                "recipients": [self.user(int(recipient))],
            }
        )

    def _message(self, payload: dict[str, Any], channel_id: int = CHANNEL_ID) -> dict[str, Any]:
        reference = payload.get("message_reference")
        return {
            **({"message_reference": reference} if reference else {}),
            "id": str(self.snowflake()),
            "channel_id": str(channel_id),
            "type": 0,
            "content": payload.get("content") or "",
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "flags": payload.get("flags") or 0,
            "author": {**self.user(APP_ID, "herald"), "bot": True},
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-11-22T12:00:00+00:00",
            "edited_timestamp": None,
        }

    # --- gateway -----------------------------------------------------------

    async def drop_gateway(self) -> None:
        """An outage: connected bots lose the gateway, and reconnecting fails (503)."""
        self.gateway_open = False
        for socket in list(self.sockets):
            await socket.ws.close()

    def reopen_gateway(self) -> None:
        self.gateway_open = True
        self.resumes = 0
        self.ready_sent = asyncio.Event()
        self.ready_sent.set()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if not self.gateway_open:
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        socket = _Socket(ws, request.query.get("compress"))
        self.sockets.append(socket)
        await socket.send({"op": 10, "d": {"heartbeat_interval": 41250}})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(message.data)
                if payload["op"] == 1:
                    await socket.send({"op": 11})
                elif payload["op"] == 2:
                    shard_id, count = payload["d"].get("shard") or (0, 1)
                    socket.shard = (shard_id, count)
                    self.identifies.append(socket.shard)
                    await self.ready_sent.wait()
                    await socket.send(self._ready(payload))
                    self.identified.set()
                elif payload["op"] == 6:
                    await socket.send(self._resumed(payload))
        finally:
            self.sockets.remove(socket)
        return ws

    def _ready(self, identify: dict[str, Any]) -> dict[str, Any]:
        shard_id, count = identify["d"].get("shard") or (0, 1)
        if identify["d"]["token"] != TOKEN:
            raise web.HTTPUnauthorized()
        self._seq += 1
        return {
            "op": 0,
            "t": "READY",
            "s": self._seq,
            "d": {
                "v": 10,
                "user": {**self.user(APP_ID, "herald"), "bot": True},
                "guilds": [self._guild()] if self.guild_locale else [],
                "session_id": "fake-session",
                "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                "shard": [shard_id, count],
                "application": {"id": str(APP_ID), "flags": 0},
            },
        }

    def _guild(self) -> dict[str, Any]:
        channel = {"id": str(CHANNEL_ID), "type": 0, "name": "general", "position": 0}
        return {
            "id": str(GUILD_ID),
            "name": "Test server",
            "preferred_locale": self.guild_locale,
            "owner_id": str(USER_ID),
            "channels": [{**channel, "guild_id": str(GUILD_ID), "permission_overwrites": []}],
            "roles": [],
            "members": [],
            "threads": [],
            "member_count": 1,
        }

    def _resumed(self, resume: dict[str, Any]) -> dict[str, Any]:
        if resume["d"]["token"] != TOKEN or resume["d"]["session_id"] != "fake-session":
            raise web.HTTPUnauthorized()
        self.resumes += 1
        self._seq += 1
        return {"op": 0, "t": "RESUMED", "s": self._seq, "d": {}}


class _Socket:
    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj() if compress == "zlib-stream" else None
        self.shard = (0, 1)  # (id, count), as IDENTIFY named it

    def serves(self, guild_id: int) -> bool:
        """Whether Discord sends this guild's events (0: none) on this connection."""
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id

    async def send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload)
        if self.compressor is None:
            await self.ws.send_str(data)
            return
        chunk = self.compressor.compress(data.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        await self.ws.send_bytes(chunk)


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
