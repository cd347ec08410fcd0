"""Discord sharding through real discord.py: two Herald processes split the shards,
one uploads the commands, each answers what arrives on its own shards."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.core import Core
from bot.platforms import discord_shards
from tests.bot.test_health import READY, not_ready, probe, until
from tests.bot.test_metrics import metrics, value
from tests.conftest import StartHerald, discord_env
from tests.fakes.discord import GUILD_ID, FakeDiscord, guild_on_shard

SAMPLE = "tests.bot.sample_cogs"


def shard_env(discord: FakeDiscord, tmp_path: Path, shard_ids: str) -> dict[str, str]:
    """One process of two, with a database of its own (as on another machine)."""
    return {
        **discord_env(discord),
        "DISCORD_SHARD_COUNT": "2",
        "DISCORD_SHARD_IDS": shard_ids,
        "DATABASE_URL": f"sqlite:///{tmp_path / f'shard-{shard_ids}.db'}",
    }


async def connected_metric(core: Core) -> float | None:
    return value(await metrics(core), "herald_platform_connected", platform="discord")


def commands_run(core: Core, name: str) -> float:
    labels = {"command": name, "platform": "discord", "outcome": "ok"}
    return core.metrics.registry.get_sample_value("herald_commands_total", labels) or 0.0


async def test_two_processes_split_the_shards_and_only_shard_0_uploads_commands(
    herald: StartHerald, discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    first = await herald(SAMPLE, **shard_env(discord, tmp_path, "0"))
    second = await herald(SAMPLE, **shard_env(discord, tmp_path, "1"))

    assert discord.identifies == [(0, 2), (1, 2)], "each process identifies its shard only"
    assert len(discord.find("PUT", "/commands")) == 1, "one process uploads the commands"
    assert "echo" in {c["name"] for c in discord.commands["global"]}
    assert "not uploading commands; the process running shard 0 does" in caplog.text

    for core, shard in ((first, 0), (second, 1)):
        assert core.platform("discord").status() == "connected"
        assert await connected_metric(core) == 1
        assert await probe(core, "/readyz") == (200, READY)
        shards = (await probe(core, "/healthz"))[1]["shards"]["discord"]
        assert list(shards) == [str(shard)]
        assert shards[str(shard)]["connected"] is True

    assert (GUILD_ID >> 22) % 2 == 1
    on_shard_1 = discord.command_interaction("echo", {"text": "one"})
    await discord.interact(on_shard_1)
    assert (await discord.answer_to(on_shard_1))["embeds"][0]["title"] == "one"
    on_shard_0 = discord.in_guild(
        discord.command_interaction("echo", {"text": "zero"}), guild_on_shard(0, 2)
    )
    await discord.interact(on_shard_0)
    assert (await discord.answer_to(on_shard_0))["embeds"][0]["title"] == "zero"
    assert (commands_run(first, "echo"), commands_run(second, "echo")) == (1, 1)


async def test_one_process_can_run_every_shard(herald: StartHerald, discord: FakeDiscord) -> None:
    discord.identify_slots = 2  # both identify at once, not 5 s apart
    core = await herald(SAMPLE, **discord_env(discord), DISCORD_SHARD_COUNT="2")
    assert sorted(discord.identifies) == [(0, 2), (1, 2)]
    assert len(discord.find("PUT", "/commands")) == 1
    assert core.platform("discord").status() == "connected"
    assert list((await probe(core, "/healthz"))[1]["shards"]["discord"]) == ["0", "1"]


async def test_without_shard_settings_one_connection_serves_every_guild(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    discord.recommended_shards = 2
    core = await herald(SAMPLE, **discord_env(discord))
    assert discord.identifies == [(0, 1)], "Discord's recommendation is not taken unasked"
    assert "shards" not in (await probe(core, "/healthz"))[1]


async def test_sync_commands_never_and_always_override_the_shard_rule(
    herald: StartHerald, discord: FakeDiscord, tmp_path: Path
) -> None:
    await herald(SAMPLE, **shard_env(discord, tmp_path, "0"), DISCORD_SYNC_COMMANDS="never")
    assert not discord.find("PUT", "/commands")
    await herald(SAMPLE, **shard_env(discord, tmp_path, "1"), DISCORD_SYNC_COMMANDS="always")
    assert len(discord.find("PUT", "/commands")) == 1


async def test_a_process_whose_shard_drops_is_not_ready(
    herald: StartHerald, discord: FakeDiscord, tmp_path: Path
) -> None:
    core = await herald(SAMPLE, **shard_env(discord, tmp_path, "1"))
    await discord.drop_gateway()
    assert await until(core, "/readyz", 503) == not_ready("discord: disconnected")
    assert core.platform("discord").status() == "disconnected"
    assert await connected_metric(core) == 0
    _, summary = await probe(core, "/healthz")
    assert summary["shards"] == {"discord": {"1": {"connected": False, "latency": None}}}


async def test_shards_sharing_a_rate_bucket_identify_a_window_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(discord_shards, "IDENTIFY_WINDOW", 0.2)
    pacer = discord_shards.IdentifyPacer()
    pacer.slots = 2  # buckets: shards 0 and 2, shards 1 and 3
    start = time.monotonic()
    await pacer.wait(0)
    await pacer.wait(1)
    assert time.monotonic() - start < 0.1, "two buckets, no wait"
    await pacer.wait(2)
    assert time.monotonic() - start >= 0.2, "shard 2 waits for shard 0's window"
    await pacer.wait(3)
    assert time.monotonic() - start < 0.35, "shard 3's bucket was free by then"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,2"}, r"DISCORD_SHARD_IDS: .*got 2"),
        (
            {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1,1"},
            "DISCORD_SHARD_IDS: each shard once, got 1 more than once",
        ),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "x"}, "DISCORD_SHARD_IDS: must be a"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT: .*greater than or equal to 1"),
        ({"DISCORD_SYNC_COMMANDS": "sometimes"}, "DISCORD_SYNC_COMMANDS: "),
    ],
)
def test_shard_settings_are_checked_at_start_up(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, setting in env.items():
        monkeypatch.setenv(name, setting)
    with pytest.raises(SettingsError, match=message):
        load_settings(Settings, env_file=None)
