"""Several unsharded Herald processes on one PostgreSQL database, through real discord.py:
one holds Discord's gateway session (the `discord-gateway` job), so a command is answered
once; the others stand by, ready, serving REST; one takes over when the holder stops or
loses its lease."""

from __future__ import annotations

import time

import asyncpg

from bot.core import Core
from bot.models import Destination, Reply
from bot.platforms.discord_gateway import GATEWAY_JOB, GatewayLease
from bot.store.postgres.coordination import PostgresCoordination
from bot.store.postgres.migrations import migrate
from tests.announcing import until
from tests.bot.platforms.test_discord_shards import SAMPLE, commands_run, connected_metric
from tests.bot.test_health import READY, probe
from tests.bot.test_metrics import metrics, value
from tests.conftest import StartHerald, discord_env
from tests.fakes.discord import CHANNEL_ID, FakeDiscord

LEASE_SECONDS = 1.0


async def two_processes(
    herald: StartHerald, discord: FakeDiscord, database_url: str
) -> tuple[Core, Core]:
    """Two processes started with the same settings, no shard settings among them."""
    env = {
        **discord_env(discord),
        "DATABASE_URL": database_url,
        "HERALD_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    return await herald(SAMPLE, **env), await herald(SAMPLE, **env)


async def standby_metric(core: Core) -> float | None:
    return value(await metrics(core), "herald_platform_standby", platform="discord")


async def taken_over(discord: FakeDiscord, by: Core) -> float:
    """Seconds until `by` identifies on the gateway, the only session open."""
    asked = time.monotonic()
    await until(lambda: len(discord.identifies) == 2 and len(discord.sockets) == 1)
    await until(lambda: by.platform("discord").status() == "connected")
    return time.monotonic() - asked


async def test_one_process_holds_the_gateway_and_a_command_is_answered_once(
    herald: StartHerald, discord: FakeDiscord, fresh_postgres_url: str
) -> None:
    holder, standby = await two_processes(herald, discord, fresh_postgres_url)

    assert discord.identifies == [(0, 1)], "one gateway session between the two"
    assert len(discord.sockets) == 1
    assert len(discord.find("PUT", "/commands")) == 1, "the holder uploads the commands"
    assert holder.platform("discord").status() == "connected"
    assert standby.platform("discord").status() == "standby"
    assert (await connected_metric(holder), await connected_metric(standby)) == (1, 0)
    assert (await standby_metric(holder), await standby_metric(standby)) == (0, 1)
    for core in (holder, standby):
        assert await probe(core, "/readyz") == (200, READY), "a standby process is ready"
    assert (await probe(standby, "/healthz"))[1]["platforms"]["discord"] == "standby"

    payload = discord.command_interaction("echo", {"text": "once"})
    await discord.interact(payload)  # to every connected session
    assert (await discord.answer_to(payload))["embeds"][0]["title"] == "once"
    assert len(discord.callbacks_for(payload)) == 1
    assert (commands_run(holder, "echo"), commands_run(standby, "echo")) == (1, 0)

    posted = await standby.platform("discord").post(
        Destination("discord", str(CHANNEL_ID)), Reply(text="sent through REST")
    )
    assert discord.messages[int(posted.message_id)]["content"] == "sent through REST"


async def test_another_process_takes_the_gateway_when_the_holder_stops(
    herald: StartHerald, discord: FakeDiscord, fresh_postgres_url: str
) -> None:
    holder, standby = await two_processes(herald, discord, fresh_postgres_url)

    await holder.close()

    assert await taken_over(discord, standby) < LEASE_SECONDS
    assert len(discord.find("PUT", "/commands")) == 1, "unchanged: not uploaded again"
    payload = discord.command_interaction("echo", {"text": "after"})
    await discord.interact(payload)
    assert (await discord.answer_to(payload))["embeds"][0]["title"] == "after"
    assert commands_run(standby, "echo") == 1


async def test_a_holder_that_lost_its_lease_closes_its_gateway_at_once(
    herald: StartHerald, discord: FakeDiscord, fresh_postgres_url: str
) -> None:
    holder, standby = await two_processes(herald, discord, fresh_postgres_url)

    # The holder stalled past its lease and the other process took the job meanwhile.
    connection = await asyncpg.connect(fresh_postgres_url)
    try:
        await connection.execute(
            "UPDATE job_leases SET holder = $1 WHERE name = $2",
            standby.coordination.holder,
            GATEWAY_JOB,
        )
    finally:
        await connection.close()

    assert await taken_over(discord, standby) < LEASE_SECONDS
    await until(lambda: holder.platform("discord").status() == "standby")
    assert await probe(holder, "/readyz") == (200, READY)
    assert (await connected_metric(holder), await connected_metric(standby)) == (0, 1)
    payload = discord.command_interaction("echo", {"text": "moved"})
    await discord.interact(payload)
    assert (await discord.answer_to(payload))["embeds"][0]["title"] == "moved"
    assert (commands_run(holder, "echo"), commands_run(standby, "echo")) == (0, 1)


async def test_another_process_takes_the_gateway_when_the_holders_lease_expires(
    herald: StartHerald, discord: FakeDiscord, fresh_postgres_url: str
) -> None:
    holder, standby = await two_processes(herald, discord, fresh_postgres_url)

    await holder.platform("discord").close()  # its gateway gone, the lease left to expire

    # Renewed a third of HERALD_LEASE_SECONDS ago at most, the lease lasts a third longer
    # than that; the other process asks every third of it.
    assert 0.9 * LEASE_SECONDS < await taken_over(discord, standby) < 2 * LEASE_SECONDS


async def test_a_holder_whose_database_stops_answering_leaves_before_its_lease_ends(
    fresh_postgres_url: str,
) -> None:
    pool = await asyncpg.create_pool(fresh_postgres_url, min_size=1, max_size=2)
    async with pool.acquire() as connection:
        await migrate(connection)
    steps: list[str] = []

    async def take() -> None:
        steps.append("take")

    async def leave() -> None:
        steps.append("leave")

    coordination = PostgresCoordination(pool, "holder", LEASE_SECONDS)
    lease = GatewayLease(lambda: coordination, take, leave)
    try:
        assert await lease.start() is True
        await pool.close()  # every renewal fails from now on
        cut = time.monotonic()
        await until(lambda: steps == ["take", "leave"])
        # It leaves once the database has been silent for HERALD_LEASE_SECONDS, counted
        # from its last answer (up to a third of the lease before the cut): while the
        # lease, a third longer, is still its own.
        assert 2 / 3 * LEASE_SECONDS <= time.monotonic() - cut < 4 / 3 * LEASE_SECONDS + 0.2
        assert lease.holding is False
    finally:
        await lease.close()
