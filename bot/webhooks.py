"""Receiving webhooks: authenticate, cap, parse, store, then acknowledge.

A cog describes its service's webhook as a `WebhookReceiver`: the path, how
the sender proves itself (a secret header, a secret in the URL, an HMAC of
the body) and how to read the event kind from a request. This module does
the rest the same way for every service:

1. authentication that needs no body is checked first (401, nothing read);
2. the body is capped at 1 MiB (413) and read under the server's deadline
   (408) and cap on concurrent reads (503 with `Retry-After`);
3. a body signature is checked (401);
4. the body must be a JSON object nested at most 64 levels deep and the
   receiver must find its kind (400);
5. the delivery is committed to the inbox, and only then answered:
   200 `queued`, 202 `ignored` (a kind Herald does not announce: stored and
   logged, not posted; a receiver whose sender retries anything but 200 says
   200) or 200 `duplicate` (seen before: not posted again).

Every answer is counted in `herald_webhooks_total` by outcome (a refusal by
its status, see `REFUSED`) and timed. Secrets are compared in constant time
and never logged. (A request with a
header that is not valid UTF-8 never gets here: the server answers 401.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from aiohttp import web

from bot.logcontext import bound
from bot.server import MAX_BODY_BYTES, Refused, RouteHandler

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    QUEUED = "queued"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


STATUS = {Outcome.QUEUED: 200, Outcome.IGNORED: 202, Outcome.DUPLICATE: 200}
JSON = "application/json"
ANSWERS = {outcome: json.dumps({"status": outcome.value}).encode() for outcome in Outcome}
MAX_JSON_DEPTH = 64
# The outcome counted for a refusal, by status. 503 (no read slot free within half a
# second) counts as a timeout; any other 4xx a receiver answers is a bad request.
REFUSED = {401: "unauthorized", 413: "too_large", 408: "timeout", 503: "timeout"}
BAD_REQUEST = "bad_request"


class BadDelivery(Exception):
    """The request is authentic but not something Herald can take (400, or `status`)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Authenticator(Protocol):
    reads_body: ClassVar[bool]

    def verify(self, request: web.Request, body: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class HeaderSecret:
    """A header whose whole value is agreed in advance (`Authorization: Bearer …`)."""

    reads_body: ClassVar[bool] = False
    header: str
    value: str

    def verify(self, request: web.Request, body: bytes) -> bool:
        return _same(request.headers.get(self.header, ""), self.value)


@dataclass(frozen=True, slots=True)
class QuerySecret:
    """A secret in the URL's query string (`?token=…`), for senders that sign nothing."""

    reads_body: ClassVar[bool] = False
    param: str
    secret: str

    def verify(self, request: web.Request, body: bytes) -> bool:
        return _same(request.query.get(self.param, ""), self.secret)


@dataclass(frozen=True, slots=True)
class BodySignature:
    """A hex HMAC of the raw body in a header (`sha1=` style prefixes are accepted)."""

    reads_body: ClassVar[bool] = True
    header: str
    key: str
    algorithm: str = "sha1"

    def verify(self, request: web.Request, body: bytes) -> bool:
        given = request.headers.get(self.header, "").strip().lower()
        given = given.partition("=")[2] if "=" in given else given
        expected = hmac.new(self.key.encode(), body, self.algorithm).hexdigest()
        return _same(given, expected)


@dataclass(frozen=True, slots=True)
class Incoming:
    """What a receiver read from a request: the event kind, and the sender's id if any."""

    kind: str
    sender_id: str | None = None


Reader = Callable[[web.Request, dict[str, Any]], Incoming]
Accept = Callable[[str, str, str, str], Awaitable[Outcome]]
ReadBody = Callable[[web.Request], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class WebhookReceiver:
    """One service's webhook endpoint.

    `read` returns the kind (from a header, the path or the body) or raises
    `BadDelivery` naming what is missing. `ignored_status` answers a kind
    Herald does not announce (202, or 200 for a sender that retries the rest).
    """

    source: str
    path: str
    auth: Authenticator
    read: Reader
    ignored_status: int = STATUS[Outcome.IGNORED]


def delivery_key(source: str, kind: str, body: bytes, sender_id: str | None) -> str:
    """The inbox key: the sender's delivery id, else a digest of the event and body."""
    if sender_id:
        return f"{source}:id:{sender_id}"
    digest = hashlib.sha256(kind.encode() + b"\n" + body).hexdigest()
    return f"{source}:sha256:{digest}"


def webhook_handler(
    receiver: WebhookReceiver, accept: Accept, read_body: ReadBody, metrics: Metrics
) -> RouteHandler:
    """The aiohttp handler for `receiver`: reads through `read_body` (the server's
    deadline and cap), stores through `accept`, and only then answers; each answer
    is counted by outcome and timed."""
    status = {**STATUS, Outcome.IGNORED: receiver.ignored_status}

    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        with bound(source=receiver.source):
            result = await respond(request)
        if isinstance(result, Outcome):
            response = web.Response(body=ANSWERS[result], status=status[result], content_type=JSON)
            outcome = result.value
        else:
            response, outcome = result, REFUSED.get(result.status, BAD_REQUEST)
        metrics.webhook(receiver.source, outcome, time.perf_counter() - started)
        return response

    async def respond(request: web.Request) -> web.Response | Outcome:
        auth = receiver.auth
        if not auth.reads_body and not auth.verify(request, b""):
            return _refuse(receiver, request, 401, "missing or wrong secret")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _refuse(receiver, request, 413, "body larger than 1 MiB")
        try:
            body = await read_body(request)
        except Refused as refused:
            return refused.response(request)
        if auth.reads_body and not auth.verify(request, body):
            return _refuse(receiver, request, 401, "missing or wrong signature")
        try:
            text = body.decode("utf-8")
            payload = _json_object(text)
            incoming = receiver.read(request, payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _refuse(receiver, request, 400, "the body is not JSON")
        except BadDelivery as bad:
            return _refuse(receiver, request, bad.status, bad.reason)
        key = delivery_key(receiver.source, incoming.kind, body, incoming.sender_id)
        return await accept(receiver.source, incoming.kind, text, key)

    return handle


def _json_object(text: str) -> dict[str, Any]:
    """`text` parsed, or `BadDelivery`: not an object, or nested too deep for Herald."""
    too_deep = f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        payload = json.loads(text)
    except RecursionError:
        raise BadDelivery(too_deep) from None
    # Nesting needs an opening bracket per level: a body with few brackets (every real
    # webhook has a dozen or so) is not walked, which saves the accept path ~7% of its CPU.
    brackets = text.count("{") + text.count("[")
    if brackets > MAX_JSON_DEPTH and _deeper_than(payload, MAX_JSON_DEPTH):
        raise BadDelivery(too_deep)
    if not isinstance(payload, dict):
        raise BadDelivery("the body must be a JSON object")
    return payload


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in `value` nest more than `limit` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


def _refuse(
    receiver: WebhookReceiver, request: web.Request, status: int, reason: str
) -> web.Response:
    log.warning(
        "%s webhook refused (%d, %s) from %s", receiver.source, status, reason, request.remote
    )
    return web.json_response({"error": reason}, status=status)


def _same(given: str, expected: str) -> bool:
    """Constant-time equality; header bytes aiohttp kept as surrogates match nothing."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode(errors="surrogateescape"), expected.encode())
