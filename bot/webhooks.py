"""Receiving webhooks: authenticate, cap, parse, store, then acknowledge.

A cog describes its service's webhook as a `WebhookReceiver`: the path, how
the sender proves itself (a secret header, a secret in the URL, an HMAC of
the body) and how to read the event kind from a request. This module does
the rest the same way for every service:

1. authentication that needs no body is checked first (401, nothing read);
2. the body is capped at 1 MiB (413);
3. a body signature is checked (401);
4. the body must be a JSON object and the receiver must find its kind (400);
5. the delivery is committed to the inbox, and only then answered:
   200 `queued`, 202 `ignored` (a kind Herald does not announce: stored and
   logged, not posted) or 200 `duplicate` (seen before: not posted again).

Secrets are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from aiohttp import web

from bot.server import MAX_BODY_BYTES, RouteHandler

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    QUEUED = "queued"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


STATUS = {Outcome.QUEUED: 200, Outcome.IGNORED: 202, Outcome.DUPLICATE: 200}
ANSWERS = {outcome: json.dumps({"status": outcome.value}).encode() for outcome in Outcome}


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


@dataclass(frozen=True, slots=True)
class WebhookReceiver:
    """One service's webhook endpoint.

    `read` returns the kind (from a header, the path or the body) or raises
    `BadDelivery` naming what is missing.
    """

    source: str
    path: str
    auth: Authenticator
    read: Reader


def delivery_key(source: str, kind: str, body: bytes, sender_id: str | None) -> str:
    """The inbox key: the sender's delivery id, else a digest of the event and body."""
    if sender_id:
        return f"{source}:id:{sender_id}"
    digest = hashlib.sha256(kind.encode() + b"\n" + body).hexdigest()
    return f"{source}:sha256:{digest}"


def webhook_handler(receiver: WebhookReceiver, accept: Accept) -> RouteHandler:
    """The aiohttp handler for `receiver`, storing through `accept` before answering."""

    async def handle(request: web.Request) -> web.Response:
        auth = receiver.auth
        if not auth.reads_body and not auth.verify(request, b""):
            return _refuse(receiver, request, 401, "missing or wrong secret")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _refuse(receiver, request, 413, "body larger than 1 MiB")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(receiver, request, 413, "body larger than 1 MiB")
        if auth.reads_body and not auth.verify(request, body):
            return _refuse(receiver, request, 401, "missing or wrong signature")
        try:
            text = body.decode("utf-8")
            payload = json.loads(text)
            if not isinstance(payload, dict):
                raise BadDelivery("the body must be a JSON object")
            incoming = receiver.read(request, payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _refuse(receiver, request, 400, "the body is not JSON")
        except BadDelivery as bad:
            return _refuse(receiver, request, bad.status, bad.reason)
        key = delivery_key(receiver.source, incoming.kind, body, incoming.sender_id)
        outcome = await accept(receiver.source, incoming.kind, text, key)
        return web.Response(
            body=ANSWERS[outcome], status=STATUS[outcome], content_type="application/json"
        )

    return handle


def _refuse(
    receiver: WebhookReceiver, request: web.Request, status: int, reason: str
) -> web.Response:
    log.warning(
        "%s webhook refused (%d, %s) from %s", receiver.source, status, reason, request.remote
    )
    return web.json_response({"error": reason}, status=status)


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
