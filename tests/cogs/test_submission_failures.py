"""Nothing a user typed is lost: each failure mode, the retry worker, and a restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import translate
from tests.conftest import (
    StartHerald,
    betahub_env,
    discord_env,
    fast_retries,
    unmarked,
)
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, EPHEMERAL, USER_ID, FakeDiscord

BUG = "The game crashes when I open the map after loading a save"
DIFFERENT_BUGS = [
    "Audio cuts out during cutscenes",
    "Inventory icons overlap on ultrawide monitors",
    "Controller vibration never stops after the boss fight",
    "Achievements unlock twice for chapter three",
]


def pending_rows(tmp_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(tmp_path / "herald.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM pending_submissions")]


async def no_pending_rows(tmp_path: Path, timeout: float = 5) -> bool:
    """Wait until every saved submission is done and forgotten."""
    deadline = time.monotonic() + timeout
    while pending_rows(tmp_path):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def report(discord: FakeDiscord, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction("report", options)
    await discord.interact(payload)
    return await discord.answer_to(payload)


def dms(discord: FakeDiscord) -> list[dict[str, Any]]:
    return [m for c in discord.dm_channels for m in discord.channel_messages(c)]


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ((500,), "BetaHub is not answering right now (HTTP 500)."),
        (("hang",), "BetaHub is not answering right now."),
        ((429,), "BetaHub is busy right now (too many requests)."),
    ],
)
async def test_an_outage_saves_the_submission_and_says_so(
    herald: StartHerald,
    discord: FakeDiscord,
    betahub: FakeBetaHub,
    tmp_path: Path,
    answers: tuple[Any, ...],
    reason: str,
) -> None:
    betahub.retry_after = "120"
    betahub.script(*answers)
    await herald(**discord_env(discord), **betahub_env(betahub))
    started = time.time()

    answer = await report(discord, description=BUG, title="Map crash")

    assert answer["flags"] & EPHEMERAL
    assert answer["content"] == (
        f"💾 {reason} Your bug report **Map crash** is saved and will be sent as soon as"
        " BetaHub is back; you will get a message with the link."
    )
    (row,) = pending_rows(tmp_path)
    assert row["state"] == "pending"
    assert row["user_text"] == BUG
    assert row["channel_id"] == str(CHANNEL_ID)
    assert f'"id": "{USER_ID}"' in row["user"]
    if answers == (429,):
        assert row["next_attempt_at"] >= started + 120, "Retry-After is honoured"


async def test_401_is_not_retried_and_names_the_setting_to_check(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    betahub.script(401)
    await herald(**discord_env(discord), **betahub_env(betahub))
    answer = await report(discord, description=BUG)

    assert answer["content"].startswith(
        "⚠️ BetaHub did not accept Herald's credentials (Invalid token)."
        " An admin should check BETAHUB_TOKEN."
    )
    assert f"> {BUG}" in answer["content"], "the user's text comes back"
    assert len(betahub.find("POST", "/issues.json")) == 1
    assert pending_rows(tmp_path) == []


async def test_422_shows_betahubs_reason_and_the_text_back(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    betahub.script(422)
    await herald(**discord_env(discord), **betahub_env(betahub))
    answer = await report(discord, description=BUG, steps="1. open map")

    assert answer["flags"] & EPHEMERAL
    assert answer["content"].startswith("⚠️ Scripted failure 422\nHere is what you wrote")
    assert answer["content"].endswith(f"> {BUG}")
    assert len(betahub.find("POST", "/issues.json")) == 1, "a 4xx is not retried"
    assert pending_rows(tmp_path) == []


async def test_the_worker_sends_after_the_outage_and_dms_the_link(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    betahub.script(503, 503, 503, 500)  # the first try (3 attempts) and the first retry
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())
    answer = await report(discord, description=BUG, title="Map crash")
    assert answer["content"].startswith("💾")

    await betahub.wait_for("POST", "/issues.json", count=5)
    await discord.wait_for("POST", "/messages")

    (created,) = betahub.created
    assert unmarked(created["issue[description]"]) == BUG
    assert created["issue[source]"] == "discord"
    assert created["user[discord_id]"] == str(USER_ID)
    (dm,) = dms(discord)
    url = "https://app.betahub.io/projects/pr-5287510306/issues/1"
    assert dm["content"] == f"✅ Your saved bug report **Map crash** reached BetaHub: {url}"
    assert dm["components"][0]["components"][0]["url"] == url
    assert await no_pending_rows(tmp_path), "a delivered submission is forgotten"


async def test_closed_dms_mean_a_message_in_the_original_channel(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    discord.closed_dms.add(USER_ID)
    betahub.script(500)
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())
    await report(discord, description=BUG, title="@everyone crash")

    (posted,) = await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    assert posted.json["content"].startswith(
        "✅ Ada, your saved bug report **@everyone crash** reached BetaHub: https://"
    )
    assert posted.json["allowed_mentions"] == {"parse": []}
    assert len(betahub.created) == 1
    await discord.wait_for("POST", "/users/@me/channels")
    assert await no_pending_rows(tmp_path)


async def test_a_4xx_on_retry_tells_the_user_with_their_text(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script(500, 422)
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())
    await report(discord, description=BUG, title="Map crash")

    await discord.wait_for("POST", "/messages")
    (dm,) = dms(discord)
    assert dm["content"].startswith(
        "⚠️ Your saved bug report **Map crash** could not be sent: Scripted failure 422"
    )
    assert dm["content"].endswith(f"> {BUG}")
    assert betahub.created == []


async def test_a_saved_submission_goes_out_exactly_once_after_a_restart(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    env = {**discord_env(discord), **betahub_env(betahub)}
    betahub.script(500)
    first = await herald(**env, HERALD_RETRY_FIRST_SECONDS="3600")
    answer = await report(discord, description=BUG, title="Map crash")
    assert answer["content"].startswith("💾")
    await first.close()
    assert len(pending_rows(tmp_path)) == 1, "the saved submission survives the stop"
    assert betahub.created == []

    await herald(**env, **fast_retries())
    await discord.wait_for("POST", "/messages")

    assert len(betahub.created) == 1
    assert betahub.created[0]["issue[title]"] == "Map crash"
    assert len(dms(discord)) == 1
    assert await no_pending_rows(tmp_path)


async def test_a_send_in_flight_at_a_crash_is_sent_again_on_start(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    """A row left `sending` (the process died mid-request) is never dropped."""
    env = {**discord_env(discord), **betahub_env(betahub)}
    betahub.script(500)
    first = await herald(**env, HERALD_RETRY_FIRST_SECONDS="3600")
    await report(discord, description=BUG, title="Map crash")
    await first.close()
    with sqlite3.connect(tmp_path / "herald.db") as db:
        db.execute("UPDATE pending_submissions SET state = 'sending', next_attempt_at = 1e12")

    await herald(**env, **fast_retries())
    await discord.wait_for("POST", "/messages")
    assert len(betahub.created) == 1


async def test_cooldown_allows_three_submissions_a_minute(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub))
    for bug in DIFFERENT_BUGS[:3]:
        answer = await report(discord, description=bug)
        assert answer["embeds"][0]["title"].startswith("Bug report received"), answer

    refused = await report(discord, description=DIFFERENT_BUGS[3])
    assert refused["flags"] & EPHEMERAL
    assert refused["content"].startswith(
        "⚠️ You have sent 3 submissions in the last 60 seconds; please try again in "
    )
    seconds = int(refused["content"].rsplit("in ", 1)[1].removesuffix(" s."))
    assert 55 <= seconds <= 60
    assert len(betahub.created) == 3

    other = discord.command_interaction(
        "report", {"description": BUG}, user=discord.user(12345, "bob")
    )
    await discord.interact(other)
    assert (await discord.answer_to(other))["embeds"], "the limit is per user"


async def test_cooldown_is_configurable(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub), HERALD_SUBMISSION_LIMIT="1")
    assert (await report(discord, description=BUG))["embeds"]
    assert "sent 1 submission in" in (await report(discord, description=BUG))["content"]


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_on_retry_tell_the_user_once_and_stop_after_a_day(
    herald: StartHerald,
    discord: FakeDiscord,
    betahub: FakeBetaHub,
    tmp_path: Path,
    status: int,
) -> None:
    betahub.script(503, 503, 503, *[status] * 200)  # saved, then refused on every retry
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())
    answer = await report(discord, description=BUG, title="Map crash")
    assert answer["content"].startswith("💾")

    refusals = len(betahub.find("POST", "/issues.json")) + 3
    await betahub.wait_for("POST", "/issues.json", count=refusals)
    (dm,) = dms(discord)
    assert dm["content"].startswith("⚠️ Your saved bug report **Map crash** could not be sent yet:")
    assert "Herald keeps trying for a day" in dm["content"]
    assert dm["content"].endswith(f"> {BUG}"), "their text comes with it"
    (row,) = pending_rows(tmp_path)
    assert row["refused_at"] is not None

    with sqlite3.connect(tmp_path / "herald.db") as db:  # a day has passed
        db.execute("UPDATE pending_submissions SET refused_at = refused_at - 86401")
    assert await no_pending_rows(tmp_path), "abandoned after a day of refusals"
    sent = len(betahub.find("POST", "/issues.json"))
    await asyncio.sleep(0.7)
    assert len(betahub.find("POST", "/issues.json")) == sent, "no retry after giving up"
    assert len(dms(discord)) == 1, "told once"
    assert betahub.created == []


async def saved_in_japanese(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> dict[str, str]:
    """A bug report from a user whose Discord speaks Japanese, saved during an outage,
    Herald then stopped; the environment to start it again with."""
    env = {**discord_env(discord), **betahub_env(betahub)}
    betahub.script(500)
    first = await herald(**env, HERALD_RETRY_FIRST_SECONDS="3600")
    payload = discord.command_interaction("report", {"description": BUG, "title": "Map crash"})
    payload["locale"] = "ja"
    await discord.interact(payload)
    assert (await discord.answer_to(payload))["content"].startswith("💾")
    await first.close()
    return env


async def test_a_saved_submission_is_told_in_its_senders_language(
    herald: StartHerald,
    discord: FakeDiscord,
    betahub: FakeBetaHub,
    tmp_path: Path,
) -> None:
    env = await saved_in_japanese(herald, discord, betahub)
    (row,) = pending_rows(tmp_path)
    assert json.loads(row["user"])["language"] == "ja", "stored with the submission"

    core = await herald(**env, **fast_retries())
    await discord.wait_for("POST", "/messages")

    reached = "Your saved {summary} reached {service}: {url}"
    assert translate(reached, "ja") != reached, "the notice speaks the sender's language"
    (dm,) = dms(discord)
    url = "https://app.betahub.io/projects/pr-5287510306/issues/1"
    summary = translate("bug report **{title}**", "ja", title="Map crash")
    said = {"summary": summary, "service": "BetaHub", "url": url}
    assert dm["content"] == f"✅ {translate(reached, 'ja', **said)}"
    button = dm["components"][0]["components"][0]
    assert button["label"] == translate("Open in {service}", "ja", service="BetaHub")
    (followed,) = await core.store.user_followups("discord", str(USER_ID), 10)
    assert followed.language == "ja", "the item's follow-ups speak it too"


async def test_a_submission_saved_before_languages_were_stored_is_told_in_english(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    env = await saved_in_japanese(herald, discord, betahub)
    with sqlite3.connect(tmp_path / "herald.db") as db:
        (stored,) = db.execute("SELECT user FROM pending_submissions").fetchone()
        user = {k: v for k, v in json.loads(stored).items() if k != "language"}
        db.execute("UPDATE pending_submissions SET user = ?", (json.dumps(user),))

    core = await herald(**env, **fast_retries())
    await discord.wait_for("POST", "/messages")

    (dm,) = dms(discord)
    summary = translate("bug report **{title}**", "ja", title="Map crash")  # as saved
    assert dm["content"].startswith(f"✅ Your saved {summary} reached BetaHub: ")
    (followed,) = await core.store.user_followups("discord", str(USER_ID), 10)
    assert followed.language == "en"
