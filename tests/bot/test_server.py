"""Herald's HTTP server: /healthz details only for the machine itself, and draining at shutdown."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from bot.server import is_local
from tests.announcing import sample
from tests.conftest import HACKNPLAN_SECRET, StartHerald, hacknplan_env

DETAILS = {"status", "database", "platforms", "cogs", "announcements", "not_configured"}


async def healthz(port: int, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz", headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_healthz_shows_details_to_the_machine_itself_only(herald: StartHerald):
    core = await herald()
    status, answer = await healthz(core.server.port)
    assert status == 200
    assert set(answer) == DETAILS
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert await healthz(core.server.port, {header: "203.0.113.9"}) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("remote", "headers", "local"),
    [
        ("127.0.0.1", {}, True),
        ("127.0.0.2", {}, True),
        ("::1", {}, True),
        ("::ffff:127.0.0.1", {}, True),
        ("203.0.113.9", {}, False),
        ("10.0.0.5", {}, False),
        ("::ffff:203.0.113.9", {}, False),
        (None, {}, False),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, False),
    ],
)
def test_who_counts_as_the_machine_itself(remote, headers, local):
    assert is_local(remote, headers) is local


async def test_draining_refuses_new_requests_and_answers_those_under_way(herald: StartHerald):
    core = await herald(**hacknplan_env())
    url = f"http://127.0.0.1:{core.server.port}/webhooks/hacknplan"
    headers = {
        "Authorization": f"Bearer {HACKNPLAN_SECRET}",
        "X-HacknPlan-Event": "workitem.created",
    }
    body = json.dumps(sample("hacknplan", "workitem.created")).encode()
    # A request under way: its headers are in, its body is still on the way.
    reader, writer = await asyncio.open_connection("127.0.0.1", core.server.port)
    lines = ["POST /webhooks/hacknplan HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + body[:10])
    await asyncio.sleep(0.2)
    draining = asyncio.create_task(core.server.drain(5))
    await asyncio.sleep(0.1)

    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=b"{}", headers=headers) as refused,
    ):
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "5"
        assert await refused.json() == {"error": "Herald is shutting down; try again shortly"}
    assert not draining.done(), "the drain waits for the request under way"

    writer.write(body[10:])
    answered = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answered.startswith(b"HTTP/1.1 200 ")
    await asyncio.wait_for(draining, 1)
    assert len(await core.store.new_deliveries()) == 1
    assert (await healthz(core.server.port))[0] == 200, "/healthz still answers"


async def test_a_draining_herald_says_it_is_stopping(herald: StartHerald):
    core = await herald(SHUTDOWN_GRACE_SECONDS="1")
    await core.drain()
    status, answer = await healthz(core.server.port)
    assert (status, answer["status"]) == (503, "stopping")
