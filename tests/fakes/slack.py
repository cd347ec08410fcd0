"""A fake Slack: the Web API under /api/, response URLs, and a Socket Mode websocket.

It checks what Slack checks where Herald could get it wrong: the bearer token
(bot token for Web API calls, app token for `apps.connections.open`), Block
Kit limits (`invalid_blocks`), unknown channels and messages, and, when asked,
the one-message-a-second pace per channel (429 `ratelimited` with Retry-After).
Like Slack, it answers HTTP 200 with `{"ok": false, "error": ...}` for errors.

Tests can make it refuse: a channel with an error code (`channel_errors`:
`not_in_channel`, `is_archived`...), a message whose blocks (or text too)
contain a given string (`refuse`), or lose the answer to the next posts
(`lose_answers`: the message is posted, the answer is a 502). Messages keep
their `metadata`, which `conversations.history` and `.replies` return.
`drop_socket` closes the Socket Mode connections and refuses new ones until
`reopen_socket`. `locales` sets the locale a user chose (`es-ES`), which
`users.info` returns with `include_locale` only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import CALL, FakeServer, json_response

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
SIGNING_SECRET = "fake-signing-secret-8f3a"
TEAM_ID = "T0HERALD"
CHANNEL_ID = "C0GENERAL"
USER_ID = "U0ADA"
ADMIN_ID = "U0BOSS"
BOT_USER_ID = "U0HERALD"


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with a request: `v0` HMAC-SHA256 over `v0:{ts}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


class FakeSlack(FakeServer):
    def __init__(self) -> None:
        self.channels = {CHANNEL_ID}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []
        self.users = {
            USER_ID: {
                "id": USER_ID,
                "name": "ada",
                "is_admin": False,
                "is_owner": False,
                "profile": {"display_name": "Ada", "email": "ada@studio.example"},
            },
            ADMIN_ID: {"id": ADMIN_ID, "name": "boss", "is_admin": True, "is_owner": False},
        }
        # The locale each user chose in Slack; `users.info` tells it when asked.
        self.locales: dict[str, str] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.views: list[dict[str, Any]] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.enforce_pace = False
        self.channel_errors: dict[str, str] = {}
        self.refusals: list[tuple[str, str, bool]] = []
        self.lose_answers = 0
        # Web API method -> how many of its next calls are carried out and then
        # have their connection dropped without an answer.
        self.drop_after: dict[str, int] = {}
        self.ratelimit_next = 0
        self.ratelimited = 0
        self.acks: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_ready = asyncio.Event()
        self.socket_open = True
        self._last_post: dict[str, float] = {}
        self._ts = itertools.count(1)
        # Files shared in messages, served as `url_private_download` with the bot token.
        self.files: dict[str, tuple[bytes, str]] = {}
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/api/{method}", self._api)
        router.add_post("/respond/{id}", self._respond)
        router.add_get("/socket", self._socket)
        router.add_get("/files-pri/{team}-{id}/download/{name}", self._file)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def env(self, mode: str = "http") -> dict[str, str]:
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": self.api_url}
        if mode == "socket":
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        else:
            env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
        return env

    def refuse(self, text: str, code: str = "invalid_blocks", *, plain_too: bool = False) -> None:
        """Answer `code` to a post or edit whose blocks hold `text` (its text too with
        `plain_too`)."""
        self.refusals.append((text, code, plain_too))

    def _refusal(self, args: dict[str, Any]) -> str | None:
        rich = json.dumps([_decoded(args.get(k)) for k in ("blocks", "attachments")])
        for text, code, plain_too in self.refusals:
            if text in rich or (plain_too and text in str(args.get("text"))):
                return code
        return None

    def channel_messages(self, channel: str = CHANNEL_ID) -> list[dict[str, Any]]:
        return [m for (c, _), m in self.messages.items() if c == channel]

    def slash_command(self, command: str, text: str = "", user_id: str = USER_ID) -> dict[str, str]:
        """A slash command as Slack posts it (form fields)."""
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "herald-studio",
            "channel_id": CHANNEL_ID,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": self.users.get(user_id, {}).get("name", "someone"),
            "command": command,
            "text": text,
            "api_app_id": "A0HERALD",
            "is_enterprise_install": "false",
            "response_url": f"{self.url}/respond/{next(self._ts)}",
            "trigger_id": f"trigger-{next(self._ts)}",
        }

    def interactive(self, payload: dict[str, Any]) -> str:
        """An interactive request body as Slack posts it: `payload=<json>`, form-encoded."""
        return form_body({"payload": json.dumps(payload)})

    def _actor(self, user_id: str) -> dict[str, Any]:
        name = self.users.get(user_id, {}).get("name", "someone")
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}

    def view_submission(
        self, view: dict[str, Any], values: dict[str, Any], user_id: str = USER_ID
    ) -> dict[str, Any]:
        """Submit an opened modal with `values` per block (a str, or ("select", value))."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            element = block["element"]
            value = values.get(block["block_id"])
            if element["type"] == "static_select":
                chosen = next((o for o in element["options"] if o["value"] == value), None)
                state[block["block_id"]] = {
                    "value": {"type": "static_select", "selected_option": chosen}
                }
            else:
                state[block["block_id"]] = {"value": {"type": element["type"], "value": value}}
        return {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "herald-studio"},
            "user": self._actor(user_id),
            "api_app_id": "A0HERALD",
            "trigger_id": f"trigger-{next(self._ts)}",
            "view": {
                "id": view["id"],
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {"values": state},
            },
        }

    def file(self, name: str, data: bytes, mimetype: str) -> dict[str, Any]:
        """A file as a message's `files` lists it; only the bot token downloads it."""
        file_id = f"F{next(self._ts):08d}"
        path = f"/files-pri/{TEAM_ID}-{file_id}/download/{name}"
        self.files[path] = (data, mimetype)
        return {
            "id": file_id,
            "name": name,
            "mimetype": mimetype,
            "size": len(data),
            "url_private": f"{self.url}/files-pri/{TEAM_ID}-{file_id}/{name}",
            "url_private_download": f"{self.url}{path}",
        }

    async def _file(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            # Slack answers a request without the token with its sign-in page.
            return web.Response(text="<html>Sign in</html>", content_type="text/html")
        data, mimetype = self.files[request.path]
        return web.Response(body=data, content_type=mimetype)

    def message_shortcut(
        self,
        callback_id: str,
        text: str,
        author: str = ADMIN_ID,
        user_id: str = USER_ID,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        ts = f"{1700000000 + next(self._ts)}.000200"
        message = {"type": "message", "text": text, "ts": ts, "user": author}
        if files:
            message["files"] = files
        self.messages[CHANNEL_ID, ts] = message
        return {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": f"trigger-{next(self._ts)}",
            "team": {"id": TEAM_ID, "domain": "herald-studio"},
            "user": self._actor(user_id),
            "channel": {"id": CHANNEL_ID, "name": "general"},
            "message": message,
            "message_ts": ts,
            "response_url": f"{self.url}/respond/{next(self._ts)}",
        }

    def block_action(self, button: dict[str, Any], user_id: str = USER_ID) -> dict[str, Any]:
        """A press of `button` (a Block Kit button element Herald sent)."""
        return {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "herald-studio"},
            "user": self._actor(user_id),
            "channel": {"id": CHANNEL_ID, "name": "general"},
            "trigger_id": f"trigger-{next(self._ts)}",
            "response_url": f"{self.url}/respond/{next(self._ts)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "value": button.get("value", ""),
                    "text": button["text"],
                    "action_ts": "1700000000.1",
                }
            ],
        }

    async def wait_for_view(self, count: int = 1, timeout: float = 5) -> dict[str, Any]:
        await self._until(lambda: len(self.views) >= count, "views.open", timeout)
        return self.views[count - 1]

    async def wait_for_post(self, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
        def posted() -> bool:
            return len(self.find("POST", "/api/chat.post")) >= count

        await self._until(posted, f"{count} chat.post* calls", timeout)
        return [c.json for c in self.find("POST", "/api/chat.post")]

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Deliver a Socket Mode envelope to the connected app; returns its id."""
        await asyncio.wait_for(self.socket_ready.wait(), 5)
        envelope_id = f"env-{next(self._ts)}"
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        for socket in self.sockets:
            await socket.send_str(json.dumps(message))
        return envelope_id

    async def wait_for_response(self, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
        await self._until(lambda: len(self.responses) >= count, "response_url post", timeout)
        return self.responses

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5) -> dict[str, Any]:
        def acked() -> bool:
            return any(a.get("envelope_id") == envelope_id for a in self.acks)

        await self._until(acked, f"ack of {envelope_id}", timeout)
        return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    async def _until(self, condition: Any, what: str, timeout: float) -> None:
        async def arrived() -> None:
            async with self.new_call:
                await self.new_call.wait_for(condition)

        try:
            await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s") from None

    # --- Web API -----------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        call = request[CALL]
        method = request.match_info["method"]
        args: dict[str, Any] = dict(call.form) if call.form else {}
        args.update(dict(request.query))
        if isinstance(call.json, dict):
            args.update(call.json)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return _error("invalid_auth" if token else "not_authed")
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        response = await handler(args)
        if self.drop_after.get(method, 0) > 0 and request.transport is not None:
            self.drop_after[method] -= 1
            request.transport.close()
        return response

    async def _auth_test(self, _: dict[str, Any]) -> web.Response:
        return _ok(
            url="https://herald-studio.slack.com/",
            team="Herald Studio",
            user="herald",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id="B0HERALD",
        )

    async def _apps_connections_open(self, _: dict[str, Any]) -> web.Response:
        return _ok(url=f"ws://127.0.0.1:{self.port}/socket")

    async def _chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        channel = args.get("channel")
        if channel not in self.channels:
            return _error("channel_not_found")
        if code := self.channel_errors.get(channel):
            return _error(code)
        if problem := check_message(args) or self._refusal(args):
            return _error(problem)
        now = time.monotonic()
        too_fast = self.enforce_pace and now - self._last_post.get(channel, -10) < 1.0
        if too_fast or self.ratelimit_next > 0:
            self.ratelimit_next = max(0, self.ratelimit_next - 1)
            self.ratelimited += 1
            return json_response({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"})
        self._last_post[channel] = now
        ts = f"{int(time.time())}.{next(self._ts):06d}"  # like Slack's: epoch seconds first
        message = {**_message_fields(args), "ts": ts, "thread_ts": args.get("thread_ts")}
        if metadata := _decoded(args.get("metadata")):
            message["metadata"] = metadata
        self.messages[channel, ts] = message
        if self.lose_answers > 0:
            self.lose_answers -= 1
            return web.Response(status=502, text="upstream connect error")
        return _ok(channel=channel, ts=ts, message=message)

    async def _chat_update(self, args: dict[str, Any]) -> web.Response:
        key = (args.get("channel"), args.get("ts"))
        if key not in self.messages:
            return _error("message_not_found")
        if code := self.channel_errors.get(str(key[0])):
            return _error(code)
        if problem := check_message(args) or self._refusal(args):
            return _error(problem)
        self.messages[key].update(_message_fields(args), edited=True)
        return _ok(channel=key[0], ts=key[1])

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        if args.get("channel") not in self.channels:
            return _error("channel_not_found")
        if args.get("user") not in self.users:
            return _error("user_not_found")
        if problem := check_message(args):
            return _error(problem)
        self.ephemeral.append({**_message_fields(args), "user": args["user"]})
        return _ok(message_ts=f"{1700000000 + next(self._ts)}.000300")

    async def _views_open(self, args: dict[str, Any]) -> web.Response:
        view = _decoded(args.get("view")) or {}
        if not str(args.get("trigger_id", "")).startswith("trigger-"):
            return _error("invalid_trigger_id")
        if problem := _check_view(view):
            return _error(problem)
        view = {**view, "id": f"V{next(self._ts)}"}
        self.views.append(view)
        return _ok(view=view)

    async def _conversations_history(self, args: dict[str, Any]) -> web.Response:
        return self._history(args, lambda m: m.get("thread_ts") is None)

    async def _conversations_replies(self, args: dict[str, Any]) -> web.Response:
        parent = args.get("ts")
        return self._history(args, lambda m: parent in (m["ts"], m.get("thread_ts")))

    def _history(self, args: dict[str, Any], wanted: Any) -> web.Response:
        """Newest first, from `oldest` on; metadata only with `include_all_metadata`."""
        channel = args.get("channel")
        if channel not in self.channels:
            return _error("channel_not_found")
        if code := self.channel_errors.get(channel):
            return _error(code)
        metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        found = [
            m if metadata else {k: v for k, v in m.items() if k != "metadata"}
            for (c, ts), m in self.messages.items()
            if c == channel and float(ts) >= oldest and wanted(m)
        ]
        return _ok(messages=found[::-1], has_more=False)

    async def _conversations_open(self, args: dict[str, Any]) -> web.Response:
        user = args.get("users")
        if user not in self.users:
            return _error("user_not_found")
        channel = f"D0{user}"
        self.channels.add(channel)
        return _ok(channel={"id": channel})

    async def _users_info(self, args: dict[str, Any]) -> web.Response:
        """A user's profile; their locale (`en-US` unless a test set one) only with
        `include_locale`, as Slack answers."""
        user = self.users.get(args.get("user", ""))
        if user is None:
            return _error("user_not_found")
        if str(args.get("include_locale", "")).lower() in ("true", "1"):
            user = {**user, "locale": self.locales.get(args["user"], "en-US")}
        return _ok(user=user)

    async def _usergroups_list(self, args: dict[str, Any]) -> web.Response:
        include = str(args.get("include_users", "")).lower() in ("true", "1")
        groups = [
            {"id": group, "handle": group.lower(), **({"users": users} if include else {})}
            for group, users in self.usergroups.items()
        ]
        return _ok(usergroups=groups)

    # --- response_url and Socket Mode ------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        payload = request[CALL].json or {}
        if problem := check_message(payload):
            return web.Response(status=400, text=problem)
        self.responses.append(payload)
        return web.Response(text="ok")

    async def drop_socket(self) -> None:
        """An outage: the app loses its Socket Mode connection, and reconnecting fails."""
        self.socket_open = False
        for ws in list(self.sockets):
            await ws.close()

    def reopen_socket(self) -> None:
        self.socket_open = True

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not self.socket_open:
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.socket_ready.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
                    async with self.new_call:
                        self.new_call.notify_all()
        finally:
            self.sockets.remove(ws)
        return ws

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        await super().stop()


def _ok(**fields: Any) -> web.Response:
    return json_response({"ok": True, **fields})


def _error(code: str) -> web.Response:
    return json_response({"ok": False, "error": code})


def _message_fields(args: dict[str, Any]) -> dict[str, Any]:
    """A message's text as sent (it may well start with `[`) and its decoded blocks."""
    return {
        "text": args.get("text"),
        **{key: _decoded(args.get(key)) for key in ("blocks", "attachments")},
    }


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def check_message(args: dict[str, Any]) -> str | None:
    """Slack's Block Kit limits; the error code Slack gives, or None."""
    blocks = _decoded(args.get("blocks")) or []
    attachments = _decoded(args.get("attachments")) or []
    if not (args.get("text") or blocks or attachments):
        return "no_text"
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks + [b for a in attachments for b in a.get("blocks", [])]:
        fields = block.get("fields", [])
        texts = [block.get("text", {}).get("text", ""), *(f["text"] for f in fields)]
        if any(len(t) > 3000 for t in texts) or len(fields) > 10:
            return "invalid_blocks"
        if block["type"] == "section" and not (texts[0] or fields):
            return "invalid_blocks"
    return None


def _check_view(view: dict[str, Any]) -> str | None:
    """Slack's modal limits: title and buttons 24 chars, 100 blocks, sane inputs."""
    if view.get("type") != "modal" or len(view.get("title", {}).get("text", "")) > 24:
        return "invalid_arguments"
    if len(view.get("private_metadata", "")) > 3000 or len(view.get("blocks", [])) > 100:
        return "invalid_arguments"
    for block in view.get("blocks", []):
        element = block.get("element", {})
        if block.get("type") == "input" and not element.get("action_id"):
            return "invalid_arguments"
        if len(element.get("initial_value", "")) > 3000 or element.get("max_length", 0) > 3000:
            return "invalid_arguments"
        if len(element.get("options", [])) > 100:
            return "invalid_arguments"
    return None


def form_body(fields: dict[str, str]) -> str:
    return urllib.parse.urlencode(fields)
