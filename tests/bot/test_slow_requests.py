"""Slow and malformed requests: a body-read deadline (408), a cap on concurrent reads
(503), headers that are not UTF-8 (401) and JSON nested too deep (400)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.core import Core
from bot.server import LINGER_SECONDS
from tests.announcing import hacknplan, sample, userecho
from tests.conftest import (
    HACKNPLAN_SECRET,
    USERECHO_KEY,
    StartHerald,
    hacknplan_env,
    userecho_webhook_env,
)
from tests.fakes.slack import FakeSlack, form_body, sign

SLOW_CONNECTIONS = 20


async def raw(core: Core, request: bytes, timeout: float = 5) -> tuple[int, bytes]:
    """Send `request` as it is over a socket; the status and the raw answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", core.server.port)
    try:
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1]), answer


def head(path: str, length: int, *headers: bytes) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: 127.0.0.1",
        b"Content-Type: application/json",
        f"Content-Length: {length}".encode(),
        b"Connection: close",
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def signed(body: bytes) -> bytes:
    return (
        b"X-UE-Signature: "
        + hmac.new(USERECHO_KEY.encode(), body, hashlib.sha1).hexdigest().encode()
    )


async def slow_sender(
    core: Core, trickle: bool, path: str = "/webhooks/userecho"
) -> tuple[float, bytes]:
    """Headers promising 1000 bytes, then a byte now and then (or nothing): how long
    until the server closes the connection, and what it answered."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", core.server.port)
    writer.write(head(path, 1000, b"X-UE-Signature: 00"))

    async def dribble() -> None:
        while trickle:
            await asyncio.sleep(0.2)
            writer.write(b" ")
            await writer.drain()

    async def read_until_closed() -> bytes:
        answer = b""
        try:
            while chunk := await reader.read(1024):
                answer += chunk
        except ConnectionResetError:  # closed while our dribble was still arriving
            pass
        return answer

    dribbling = asyncio.create_task(dribble())
    try:
        answer = await asyncio.wait_for(read_until_closed(), 15)
    finally:
        dribbling.cancel()
        await asyncio.gather(dribbling, return_exceptions=True)
        writer.close()
    return time.monotonic() - started, answer


def topic(number: int) -> dict[str, Any]:
    body = sample("userecho", "topic.created")
    body["data"]["id"] = number
    return body


async def test_the_body_read_deadline_is_ten_seconds_by_default() -> None:
    default = Settings().webhook_read_timeout_seconds
    assert default == 10
    assert default + LINGER_SECONDS < 15, "a slow sender is closed within 15 s"


async def test_twenty_slow_senders_are_closed_while_a_webhook_gets_through(herald: StartHerald):
    core = await herald(**userecho_webhook_env(), WEBHOOK_READ_TIMEOUT_SECONDS="1")
    slow = [
        asyncio.create_task(slow_sender(core, trickle=n % 2 == 0)) for n in range(SLOW_CONNECTIONS)
    ]
    await asyncio.sleep(0.3)  # every slow sender is reading by now
    assert await userecho(core, topic(1)) == (200, {"status": "queued"})
    for seconds, answer in await asyncio.gather(*slow):
        assert seconds < 15
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"the body did not arrive within 1 s" in answer


async def test_slack_events_get_the_same_deadline(herald: StartHerald, slack: FakeSlack):
    core = await herald(**slack.env("http"), WEBHOOK_READ_TIMEOUT_SECONDS="1")
    seconds, answer = await slow_sender(core, trickle=False, path="/slack/events")
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert seconds < 1 + LINGER_SECONDS + 1


async def test_reads_beyond_the_cap_get_503_with_retry_after(herald: StartHerald):
    core = await herald(
        **userecho_webhook_env(),
        WEBHOOK_READ_TIMEOUT_SECONDS="2",
        WEBHOOK_MAX_CONCURRENT_READS="2",
    )
    slow = [asyncio.create_task(slow_sender(core, trickle=False)) for _ in range(2)]
    await asyncio.sleep(0.3)
    body = json.dumps(topic(2)).encode()
    status, answer = await raw(core, head("/webhooks/userecho", len(body), signed(body)) + body)
    assert status == 503
    assert b"\r\nRetry-After: " in answer
    await asyncio.gather(*slow)
    assert await userecho(core, topic(2)) == (200, {"status": "queued"})


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/webhooks/userecho", b"X-UE-Signature: \xff\xfe"),
        ("/webhooks/hacknplan", b"Authorization: Bearer \xff\xfe" + HACKNPLAN_SECRET.encode()),
        ("/webhooks/hacknplan", b"Authorization: Bearer " + HACKNPLAN_SECRET.encode() + b"\xc3"),
    ],
)
async def test_a_header_that_is_not_utf8_gets_401(herald: StartHerald, path: str, header: bytes):
    core = await herald(**userecho_webhook_env(), **hacknplan_env())
    body = json.dumps(topic(3)).encode()
    status, answer = await raw(
        core, head(path, len(body), header, b"X-HacknPlan-Event: workitem.created") + body
    )
    assert status == 401, answer


async def test_any_header_that_is_not_utf8_gets_401(herald: StartHerald, slack: FakeSlack):
    core = await herald(**hacknplan_env(), **slack.env("http"))
    body = json.dumps(sample("hacknplan", "workitem.created")).encode()
    auth = b"Authorization: Bearer " + HACKNPLAN_SECRET.encode()
    event = b"X-HacknPlan-Event: work\xffitem"
    status, _ = await raw(core, head("/webhooks/hacknplan", len(body), auth, event) + body)
    assert status == 401
    form = form_body(slack.slash_command("/subscriptions")).encode()
    stamp = sign(form.decode())["X-Slack-Request-Timestamp"].encode()
    slack_headers = (b"X-Slack-Request-Timestamp: " + stamp, b"X-Slack-Signature: v0=\xff\xfe")
    status, answer = await raw(core, head("/slack/events", len(form), *slack_headers) + form)
    assert status == 401, answer
    assert answer.endswith(b'{"error": "a header is not valid UTF-8"}')


@pytest.mark.parametrize(("depth", "status"), [(64, 200), (65, 400), (100_000, 400)])
async def test_json_nested_deeper_than_64_levels_gets_400(
    herald: StartHerald, depth: int, status: int
):
    core = await herald(**hacknplan_env())
    body = sample("hacknplan", "workitem.created")
    raw_body = _with_extra(body, depth - 1)  # the body itself is the first level
    answer = await hacknplan(core, "workitem.created", raw_body)
    assert answer[0] == status, answer
    if status == 400:
        assert answer[1] == {"error": "the JSON is nested deeper than 64 levels"}


@pytest.mark.parametrize(
    "body",
    [
        "payload=" + urllib.parse.quote("[" * 100_000 + "]" * 100_000),
        "payload=" + urllib.parse.quote("{not json"),
    ],
    ids=["nested-100000", "malformed"],
)
async def test_an_unreadable_slack_body_gets_400_not_500(
    herald: StartHerald, slack: FakeSlack, body: str
):
    core = await herald(**slack.env("http"))
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
    assert response.status_code == 400
    assert response.json() == {"error": "the body is not readable"}


def _with_extra(body: dict[str, Any], depth: int) -> bytes:
    """`body` with `Extra` nested `depth` levels (arrays and objects), as JSON text."""
    text = json.dumps(body)[:-1]
    opening = "".join('{"x": ' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return f'{text}, "Extra": {opening}1{closing}}}'.encode()
