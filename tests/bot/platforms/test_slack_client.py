"""The Slack Web API client's resilience: retried connection errors, bounded profile cache."""

from __future__ import annotations

from bot.models import Destination, Reply
from tests.conftest import StartHerald
from tests.fakes.slack import CHANNEL_ID, FakeSlack


async def test_a_connection_dropped_by_slack_is_retried(
    herald: StartHerald, slack: FakeSlack
) -> None:
    core = await herald(**slack.env("http"))
    platform = core.platform("slack")
    posted = await platform.post(
        Destination("slack", CHANNEL_ID), Reply(text="through a flaky network"), key="k1"
    )
    slack.drop_after["chat.update"] = 1
    await platform.edit(posted, Reply(text="edited through a flaky network"))
    assert len(slack.find("POST", "/api/chat.update")) == 2, "the edit was sent again"
    assert [m["text"] for m in slack.channel_messages()] == ["edited through a flaky network"]


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
