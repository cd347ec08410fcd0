"""Creates are not repeated blindly: after a timeout, 502 or 504 Herald looks for the item first.

The fakes create the item and then answer 502/504, or hang past Herald's
timeout, as a proxy in front of the real service would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cogs.test_submission_failures import dms, no_pending_rows, pending_rows
from tests.conftest import (
    StartHerald,
    betahub_env,
    butterstack_env,
    discord_env,
    fast_retries,
    unmarked,
    userecho_env,
)
from tests.fakes.betahub import PROJECT_ID, FakeBetaHub
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.discord import ADMIN, FakeDiscord
from tests.fakes.userecho import FakeUserEcho

BUG = "The game crashes when I open the map after loading a save"
HELP = "I bought the season pass but the new maps are still locked"
TEXT = "Could we get a colour-blind mode for the minimap markers?"


async def run(discord: FakeDiscord, name: str, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction(name, options)
    await discord.interact(payload)
    return await discord.answer_to(payload)


@pytest.mark.parametrize("answer", [502, 504, "hang"])
async def test_a_report_created_before_a_failure_is_found_not_sent_twice(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, answer: int | str
) -> None:
    betahub.script_after_create(answer)
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())

    reply = await run(discord, "report", description=BUG, title="Map crash")

    (created,) = betahub.created
    assert unmarked(created["issue[description]"]) == BUG
    url = f"https://app.betahub.io/projects/{PROJECT_ID}/issues/1"
    assert reply["embeds"][0]["title"] == "Bug report received: Map crash"
    assert reply["embeds"][0]["url"] == url, "the user gets the link of the item that exists"
    (lookup,) = betahub.find("GET", "/issues/search.json")[-1:]
    reference = created["issue[description]"].rsplit("Ref: ", 1)[1]
    assert lookup.query == {"query": reference}
    await asyncio.sleep(0.6)  # past a fast retry: nothing is sent again
    assert len(betahub.created) == 1


async def test_a_ticket_is_found_by_betahubs_ticket_search(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script_after_create(504)
    await herald(**discord_env(discord), **betahub_env(betahub))

    reply = await run(discord, "ticket", description=HELP, title="Season pass")

    assert len(betahub.created) == 1
    assert reply["embeds"][0]["url"] == f"{betahub.url}/projects/{PROJECT_ID}/tickets/1"
    (lookup,) = betahub.find("GET", "/tickets/search.json")
    assert lookup.query["query"].startswith("HRLD-")


async def test_while_the_lookup_fails_the_ticket_is_held_not_resent(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    betahub.script_after_create(502)
    betahub.script_search(500, 500)  # the first look, and the first retry's look
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())

    reply = await run(discord, "ticket", description=HELP)
    assert reply["content"].startswith("💾 BetaHub is not answering right now (HTTP 502).")

    await discord.wait_for("POST", "/messages")
    (dm,) = dms(discord)
    url = f"{betahub.url}/projects/{PROJECT_ID}/tickets/1"
    assert dm["content"] == f"✅ Your saved support ticket reached BetaHub: {url}"
    assert len(betahub.find("POST", "/tickets.json")) == 1
    assert len(betahub.find("GET", "/tickets/search.json")) == 3
    assert await no_pending_rows(tmp_path)


async def test_an_ambiguous_failure_with_nothing_created_is_sent_again_after_looking(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    betahub.script(504)  # the proxy gave up before BetaHub created anything
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())

    reply = await run(discord, "ticket", description=HELP)
    assert reply["content"].startswith("💾")

    await discord.wait_for("POST", "/messages")
    assert len(betahub.created) == 1
    calls = [(c.method, c.path.rsplit("/", 1)[1]) for c in betahub.calls]
    assert calls == [
        ("POST", "tickets.json"),
        ("GET", "search.json"),
        ("GET", "search.json"),
        ("POST", "tickets.json"),
    ], "each send after the ambiguous one is preceded by a look"
    assert await no_pending_rows(tmp_path)


async def test_a_lookup_the_service_refuses_does_not_hold_the_ticket_forever(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    """When Herald cannot search at all (4xx), it sends again rather than keep it."""
    betahub.script(504)
    betahub.script_search(404)
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())

    assert (await run(discord, "ticket", description=HELP))["content"].startswith("💾")

    await discord.wait_for("POST", "/messages")
    assert len(betahub.created) == 1
    assert await no_pending_rows(tmp_path)


async def test_a_503_is_sent_again_at_once(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script(503)
    await herald(**discord_env(discord), **betahub_env(betahub))

    reply = await run(discord, "ticket", description=HELP)

    assert reply["embeds"][0]["title"] == "Support ticket created: " + HELP[:80]
    assert len(betahub.find("POST", "/tickets.json")) == 2
    assert betahub.find("GET", "/search.json") == [], "a 503 says nothing was created"


async def test_a_send_cut_off_by_a_crash_is_looked_up_on_restart(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    env = {**discord_env(discord), **betahub_env(betahub)}
    betahub.script(503, 503, 503)
    first = await herald(**env, HERALD_RETRY_FIRST_SECONDS="3600")
    await run(discord, "report", description=BUG, title="Map crash")
    await first.close()
    (row,) = pending_rows(tmp_path)
    # The process died while BetaHub was creating it: the row says `sending`.
    existing = betahub.seed("issues", "Map crash", f"{BUG}\n\nRef: {row['reference']}")
    with sqlite3.connect(tmp_path / "herald.db") as db:
        db.execute("UPDATE pending_submissions SET state = 'sending'")

    await herald(**env, **fast_retries())
    await discord.wait_for("POST", "/messages")

    (dm,) = dms(discord)
    assert dm["content"].endswith(existing["url"])
    assert len(betahub.find("POST", "/issues.json")) == 3, "not sent again"
    assert await no_pending_rows(tmp_path)


async def test_a_fuzzy_search_hit_without_the_reference_is_not_taken_for_the_item(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "HRLD crash", "Another report that mentions HRLD but not the same ref")
    betahub.script(502)
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())

    reply = await run(discord, "report", description=BUG, title="Map crash")

    assert reply["content"].startswith("💾"), "not found: saved, not claimed as created"
    await betahub.wait_for("POST", "/issues.json", count=2)
    assert len(betahub.created) == 1


@pytest.mark.parametrize("answer", [502, "hang"])
async def test_a_topic_created_before_a_failure_is_found_not_posted_twice(
    herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho, answer: int | str
) -> None:
    userecho.script_after_create(answer)
    await herald(**discord_env(discord), **userecho_env(userecho), **fast_retries())

    reply = await run(discord, "topic", title="Colour-blind minimap", description=TEXT)

    (topic,) = userecho.topics
    assert reply["embeds"][0]["url"] == f"{userecho.url}/topics/101/"
    duplicates, lookup = userecho.find("GET", "/topics/search.json")
    assert duplicates.query["query"] == "Colour-blind minimap", "the look before creating"
    assert lookup.query["query"] == topic["description"].rsplit("Ref: ", 1)[1]
    await asyncio.sleep(0.6)
    assert len(userecho.topics) == 1


@pytest.mark.parametrize("answer", [502, 504, "hang"])
async def test_build_trigger_is_never_resent_and_the_user_is_pointed_at_build_list(
    herald: StartHerald, discord: FakeDiscord, butterstack: FakeButterStack, answer: int | str
) -> None:
    butterstack.add_changelist(12345, "john.doe", "Textures")
    butterstack.fail_after_trigger(answer)
    env = butterstack_env(butterstack, BUTTERSTACK_TIMEOUT_SECONDS="1")
    await herald(**discord_env(discord), **env)

    payload = discord.command_interaction(
        "build",
        {"platform": "win64", "configuration": "shipping"},
        subcommand="trigger",
        permissions=ADMIN,
    )
    await discord.interact(payload)
    reply = await discord.answer_to(payload)

    assert "The build may or may not have started." in reply["content"]
    assert "/build list" in reply["content"]
    await asyncio.sleep(0.3)
    assert len(butterstack.triggered) == 1, "started once, never sent again"
