"""The Slack Web API client's resilience: retried connection errors, bounded profile cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.models import Destination, Reply
from tests.conftest import StartHerald
from tests.fakes.slack import CHANNEL_ID, FakeSlack


class DroppingSlack(FakeSlack):
    """Slack whose next `drops` Web API calls lose their connection before any answer."""

    def __init__(self) -> None:
        super().__init__()
        self.drops = 0
        self.app.middlewares.append(self._drop)

    @web.middleware
    async def _drop(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.drops > 0 and request.path.startswith("/api/chat."):
            self.drops -= 1
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        return await handler(request)


@pytest.fixture
async def dropping() -> AsyncIterator[DroppingSlack]:
    async with DroppingSlack() as fake:
        yield fake


async def test_a_connection_dropped_by_slack_is_retried(
    herald: StartHerald, dropping: DroppingSlack
) -> None:
    core = await herald(**dropping.env("http"))
    dropping.drops = 1
    posted = await core.platform("slack").post(
        Destination("slack", CHANNEL_ID), Reply(text="through a flaky network"), key="k1"
    )
    assert posted.message_id
    assert len(dropping.find("POST", "/api/chat.postMessage")) == 2
    assert [m["text"] for m in dropping.channel_messages()] == ["through a flaky network"]


def users_info_calls(slack: FakeSlack, user: str) -> int:
    calls = [c for c in slack.calls if c.path == "/api/users.info"]
    return sum(1 for c in calls if {**c.query, **dict(c.form)}.get("user") == user)


async def test_the_profile_cache_keeps_only_the_most_recently_used(
    herald: StartHerald, slack: FakeSlack
) -> None:
    core = await herald(**slack.env("http"))
    platform = core.platform("slack")
    platform.profile_cache_size = 3
    users = [f"U0{n}" for n in range(1, 6)]
    for user in users:
        slack.users[user] = {"id": user, "name": user.lower(), "profile": {}}
        assert (await platform.profile(user)).name == user.lower()

    for user in users[2:]:
        await platform.profile(user)
    assert [users_info_calls(slack, u) for u in users] == [1, 1, 1, 1, 1], "the last 3 cached"
    await platform.profile(users[0])
    assert users_info_calls(slack, users[0]) == 2, "the oldest was let go"
    await platform.profile(users[3])
    await platform.profile(users[4])
    assert users_info_calls(slack, users[2]) == 1
    await platform.profile(users[2])
    assert users_info_calls(slack, users[2]) == 2, "pushed out by the user asked for again"
