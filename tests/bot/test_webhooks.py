"""The receiving rules, the same for every service: 401, 413, 400, 202, 200 and duplicates."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.core import Core
from tests.announcing import bugherd, hacknplan, post, sample, settled, subscribe, userecho
from tests.conftest import (
    HACKNPLAN_SECRET,
    USERECHO_KEY,
    StartHerald,
    bugherd_env,
    discord_env,
    hacknplan_env,
    userecho_webhook_env,
)
from tests.fakes.discord import CHANNEL_ID, FakeDiscord


@pytest.fixture
async def core(herald: StartHerald) -> Core:
    return await herald(**hacknplan_env(), **bugherd_env(), **userecho_webhook_env())


async def stored(core: Core) -> int:
    async with core.store._db.execute("SELECT COUNT(*) FROM inbox") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": HACKNPLAN_SECRET},
        {"Authorization": f"Bearer {HACKNPLAN_SECRET}x"},
    ],
)
async def test_hacknplan_without_the_secret_is_refused_and_nothing_is_stored(core, headers):
    headers = {**headers, "X-HacknPlan-Event": "workitem.created"}
    status, answer = await post(
        core, "/webhooks/hacknplan", sample("hacknplan", "workitem.created"), headers
    )
    assert (status, answer) == (401, {"error": "missing or wrong secret"})
    assert await stored(core) == 0


async def test_bugherd_and_userecho_without_their_secrets_are_refused(core):
    body = sample("bugherd", "task_create")
    assert (await bugherd(core, "task_create", body, token="nope"))[0] == 401
    assert (await post(core, "/webhooks/bugherd/task_create", body))[0] == 401
    topic = sample("userecho", "topic.created")
    assert (await userecho(core, topic, key="another-key"))[0] == 401
    assert (await post(core, "/webhooks/userecho", topic))[0] == 401
    assert await stored(core) == 0


async def test_a_body_over_one_mebibyte_is_refused_with_413(core):
    big = {"Title": "x" * (1024 * 1024)}
    status, answer = await hacknplan(core, "workitem.created", big)
    assert status == 413
    assert "1 MiB" in answer["error"]
    raw = json.dumps({"hook": "topic.created", "data": {"id": 1, "x": "y" * 1024 * 1024}})
    signature = hmac.new(USERECHO_KEY.encode(), raw.encode(), hashlib.sha1).hexdigest()
    status, _ = await post(core, "/webhooks/userecho", raw.encode(), {"X-UE-Signature": signature})
    assert status == 413
    assert await stored(core) == 0


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        (lambda c: hacknplan(c, "workitem.created", b"{not json"), "the body is not JSON"),
        (lambda c: hacknplan(c, "workitem.created", [1, 2]), "the body must be a JSON object"),
        (lambda c: hacknplan(c, "", {"WorkItemId": 1}), "the X-HacknPlan-Event header is missing"),
        (lambda c: hacknplan(c, "workitem.created", {"Title": "x"}), "no WorkItemId"),
        (lambda c: hacknplan(c, "board.closed", {"Name": "x"}), "no BoardId"),
        (lambda c: bugherd(c, "task_create", {"task": {"title": "x"}}), "needs task.id"),
        (lambda c: bugherd(c, "comment", {"comment": {"id": 3}}), "needs its task"),
        (lambda c: userecho(c, {"data": {"id": 1}, "created": "x"}), 'needs "hook"'),
        (lambda c: userecho(c, {"hook": "topic.created", "created": "x"}), 'needs "data"'),
    ],
)
async def test_malformed_deliveries_get_400_with_a_reason(core, send, reason):
    status, answer = await send(core)
    assert status == 400
    assert reason in answer["error"]
    assert await stored(core) == 0


async def test_an_unknown_bugherd_event_is_not_found(core):
    status, answer = await bugherd(core, "task_explode", {"task": {"id": 1}})
    assert status == 404
    assert "task_create" in answer["error"]


async def test_a_kind_herald_does_not_announce_is_stored_and_answered_202(
    herald: StartHerald, discord: FakeDiscord
):
    core = await herald(**discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan")
    status, answer = await hacknplan(core, "tag.created", {"ProjectId": 1, "Name": "ui"})
    assert (status, answer) == (202, {"status": "ignored"})
    assert await stored(core) == 1
    await settled(core)
    assert discord.channel_messages(CHANNEL_ID) == []


async def test_a_repeated_delivery_is_answered_200_and_posted_once(
    herald: StartHerald, discord: FakeDiscord
):
    core = await herald(**discord_env(discord), **hacknplan_env(), **userecho_webhook_env())
    await subscribe(core, "hacknplan")
    await subscribe(core, "userecho")
    body = sample("hacknplan", "milestone.created")
    assert await hacknplan(core, "milestone.created", body) == (200, {"status": "queued"})
    assert await hacknplan(core, "milestone.created", body) == (200, {"status": "duplicate"})
    topic = sample("userecho", "topic.created")
    assert await userecho(core, topic) == (200, {"status": "queued"})
    assert await userecho(core, topic) == (200, {"status": "duplicate"})
    await settled(core)
    assert len(discord.channel_messages(CHANNEL_ID)) == 2
    assert await stored(core) == 2


async def test_the_delivery_is_stored_before_the_answer(core):
    status, _ = await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    assert status == 200
    async with core.store._db.execute("SELECT source, kind, payload FROM inbox") as cursor:
        (source, kind, payload), *_ = await cursor.fetchall()
    assert (source, kind) == ("hacknplan", "workitem.created")
    assert json.loads(payload)["WorkItemId"] == 42


async def test_a_kind_herald_does_not_announce_needs_no_particular_fields(core):
    assert await hacknplan(core, "designelement.comment.created", {"Text": "x"}) == (
        202,
        {"status": "ignored"},
    )


async def test_an_authentic_userecho_kind_herald_does_not_announce_is_answered_200(core):
    """UserEcho sends anything but a 200 again; the body still says it was ignored."""
    body = {"hook": "user.created", "created": "2026-03-02T10:00:00Z", "data": {"id": 7}}
    assert await userecho(core, body) == (200, {"status": "ignored"})
    assert await stored(core) == 1
    assert await userecho(core, body, key="another-key-0123456") == (
        401,
        {"error": "missing or wrong signature"},
    )
