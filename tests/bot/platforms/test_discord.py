"""The Discord adapter through real discord.py: start-up, command sync, options, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.errors import StartError
from tests.conftest import StartHerald, betahub_env, discord_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import ADMIN, APP_ID, EPHEMERAL, GUILD_ID, FakeDiscord

SAMPLE = "tests.bot.sample_cogs"


def command(commands: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for c in commands if c["name"] == name)


async def test_start_up_logs_in_discovers_the_gateway_and_syncs_commands(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    core = await herald(**discord_env(discord), **betahub_env(betahub))

    assert discord.find("GET", "/gateway/bot"), "the gateway URL comes from GET /gateway/bot"
    assert discord.identified.is_set(), "the bot identified on the fake gateway"
    assert core.platform("discord").status() == "connected"
    suggest = command(discord.commands["global"], "suggest")
    description, title = suggest["options"]
    assert description["name"] == "description"
    assert description["required"] is False, "a bare /suggest opens a modal instead"
    assert description["max_length"] == 4000
    assert "min_length" not in description or description["min_length"] <= 1
    assert title["required"] is False
    assert title["max_length"] == 100


async def test_configured_gateway_url_skips_discovery(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    await herald(
        **discord_env(discord), DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{discord.port}/gateway"
    )
    assert discord.identified.is_set()
    assert not discord.find("GET", "/gateway/bot")


async def test_guild_ids_sync_commands_to_those_guilds(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub), DISCORD_GUILD_IDS=str(GUILD_ID))
    assert str(GUILD_ID) in discord.commands
    assert "global" not in discord.commands
    assert command(discord.commands[str(GUILD_ID)], "suggest")


async def test_unchanged_commands_are_not_uploaded_again(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    first = await herald(**discord_env(discord), **betahub_env(betahub))
    await first.close()
    await herald(**discord_env(discord), **betahub_env(betahub))
    assert len(discord.find("PUT", "/commands")) == 1


async def test_a_refused_token_stops_start_up_with_a_clear_line(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    with pytest.raises(StartError, match=r"DISCORD_TOKEN was refused by Discord"):
        await herald(DISCORD_TOKEN="not-the-token", DISCORD_API_BASE=discord.api_base)


async def test_healthz_reports_database_platform_and_cogs(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    core = await herald(**discord_env(discord), **betahub_env(betahub))
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{core.server.port}/healthz")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert health["platforms"] == {"discord": "connected"}
    assert "betahub" in health["cogs"]
    assert health["not_configured"]["userecho"][0] == "USERECHO_URL"
    assert health["not_configured"]["butterstack"] == [
        "BUTTERSTACK_TOKEN",
        "BUTTERSTACK_PROJECT_IDS",
    ]


async def test_option_kinds_choices_and_limits_reach_discord(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    await herald(SAMPLE, **discord_env(discord))
    echo = command(discord.commands["global"], "echo")
    options = {o["name"]: o for o in echo["options"]}
    assert options["text"]["type"] == 3
    assert options["times"] == {**options["times"], "type": 4, "min_value": 1, "max_value": 3}
    assert options["loud"]["type"] == 5
    assert options["size"]["choices"] == [
        {"name": "Small", "value": "s"},
        {"name": "Large", "value": "l"},
    ]
    assert options["fruit"]["autocomplete"] is True

    admin = command(discord.commands["global"], "admin")
    assert int(admin["default_member_permissions"]) == ADMIN
    assert {o["name"]: o["type"] for o in admin["options"]} == {"wipe": 1, "crash": 1, "config": 2}
    (config,) = (o for o in admin["options"] if o["name"] == "config")
    assert config["options"][0]["name"] == "role"
    assert config["options"][0]["options"][0]["type"] == 8
    assert command(discord.commands["global"], "echo")["default_member_permissions"] is None


async def test_typed_options_reach_the_handler(herald: StartHerald, discord: FakeDiscord) -> None:
    await herald(SAMPLE, **discord_env(discord))
    payload = discord.command_interaction(
        "echo", {"text": "hi <@&1> @everyone", "times": 2, "loud": True, "size": "l"}
    )
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    assert answer["embeds"][0]["title"] == "HI <@&1> @EVERYONE HI <@&1> @EVERYONE"
    assert answer["embeds"][0]["description"] == "size=l fruit=None"
    assert answer["allowed_mentions"] == {"parse": []}


async def test_autocomplete_answers_with_choices(herald: StartHerald, discord: FakeDiscord) -> None:
    await herald(SAMPLE, **discord_env(discord))
    payload = discord.autocomplete_interaction("echo", "fruit", "ap", text="x")
    await discord.interact(payload)
    (callback,) = await discord.wait_for("POST", f"/interactions/{payload['id']}/")
    assert callback.json["type"] == 8
    assert callback.json["data"]["choices"] == [
        {"name": "Apple", "value": "apple"},
        {"name": "Apricot", "value": "apricot"},
    ]


@pytest.mark.parametrize(
    ("subcommand", "permissions", "expected"),
    [
        ("wipe", 0x800, "⚠️ Only admins can use /admin wipe."),
        ("wipe", ADMIN, "wiped"),
        ("crash", ADMIN, "⚠️ Something went wrong while running /admin crash."),
    ],
)
async def test_admin_checks_and_unexpected_errors_answer_privately(
    herald: StartHerald, discord: FakeDiscord, subcommand: str, permissions: int, expected: str
) -> None:
    await herald(SAMPLE, **discord_env(discord))
    payload = discord.command_interaction("admin", subcommand=subcommand, permissions=permissions)
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    assert answer["content"].startswith(expected)
    assert "secret internals" not in answer["content"]
    assert answer["flags"] & EPHEMERAL


async def test_a_user_error_after_a_public_defer_is_private(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    await herald(SAMPLE, **discord_env(discord))
    payload = discord.command_interaction("refuse")
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    assert answer["content"] == "⚠️ Not today."
    assert answer["flags"] & EPHEMERAL
    assert discord.webhook_calls(payload, "DELETE")
    assert discord.find("DELETE", f"/webhooks/{APP_ID}/")


async def test_subgroup_commands_receive_roles(herald: StartHerald, discord: FakeDiscord) -> None:
    await herald(SAMPLE, **discord_env(discord))
    payload = discord.command_interaction(
        "admin",
        {"role": "777"},
        subcommand=("config", "role"),
        option_types={"role": 8},
        permissions=ADMIN,
        roles=[777, 778],
        resolved={"roles": {"777": discord.role(777, "Builders")}},
    )
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    assert answer["content"] == "Builders (777); the caller holds it"
