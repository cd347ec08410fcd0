"""`LOG_FORMAT=json`: a real `python -m bot` run writes nothing but JSON lines on stderr,
with the context of each line, and never a configured secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import SECRET, Herald, Sender, body, discord_env, shown
from tests.conftest import run_bot
from tests.fakes import discord as discord_fake
from tests.fakes.discord import FakeDiscord

REQUIRED = {"time", "level", "logger", "message"}


async def test_a_json_run_writes_only_json_lines_with_context_and_no_secret(
    tmp_path: Path, discord: FakeDiscord
) -> None:
    discord.channel_limit = None
    herald = Herald(
        env={**discord_env(discord), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"},
        workdir=tmp_path,
    )
    await herald.subscribe("hacknplan")
    await herald.start()
    url = f"{herald.url}/webhooks/hacknplan"
    sender = Sender(url)
    wrong = {"Authorization": "Bearer not-the-secret", "X-HacknPlan-Event": "workitem.created"}
    try:
        assert (await sender.send(body(1)))[0] == 200
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body(2), headers=wrong) as response,
        ):
            assert response.status == 401
        await herald.drained()
    finally:
        await sender.close()
        await herald.stop()
    assert herald.process is not None
    assert herald.process.returncode == 0
    assert shown(discord, [1, 2]) == {1: 1, 2: 0}

    stderr = (tmp_path / "herald.log").read_text()
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line, or it fails

    assert all(line.keys() >= REQUIRED for line in lines)
    assert SECRET not in stderr
    assert discord_fake.TOKEN not in stderr
    levels = {line["level"] for line in lines}
    assert {"DEBUG", "INFO", "WARNING"} <= levels
    assert any(line["logger"].startswith("discord") for line in lines), "libraries log JSON too"

    refused = one(lines, "webhook refused (401")
    assert refused["source"] == "hacknplan"
    assert refused["level"] == "WARNING"
    posted = one(lines, ":card posted to discord:")
    assert posted["platform"] == "discord"
    assert posted["delivery"].startswith("b")
    assert posted["delivery"].endswith(":card")
    assert one(lines, "Herald is ready")["time"].endswith("+00:00")


def one(lines: list[dict[str, Any]], text: str) -> dict[str, Any]:
    found = [line for line in lines if text in line["message"]]
    assert len(found) == 1, f"{text!r} in {len(found)} lines"
    return found[0]


def test_a_refusal_to_start_is_a_json_line_once_json_logs_are_on(tmp_path: Path) -> None:
    result = run_bot(tmp_path, LOG_FORMAT="json", DATABASE_URL="mysql://herald@db/herald")
    assert result.returncode == 2
    (line,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert line["level"] == "CRITICAL"
    assert line["message"].startswith("cannot start: DATABASE_URL: written sqlite:///")

    unreadable = run_bot(tmp_path, LOG_FORMAT="json", HTTP_PORT="eighty")
    assert unreadable.returncode == 2
    assert unreadable.stderr == "herald: cannot start: HTTP_PORT: must be a number, got 'eighty'\n"


def test_a_crash_is_logged_as_json_with_its_traceback(tmp_path: Path) -> None:
    (tmp_path / "herald.db").write_bytes(b"not a database, " * 64)
    result = run_bot(tmp_path, LOG_FORMAT="json")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[-1]["level"] == "CRITICAL"
    assert lines[-1]["message"] == "Herald stopped on an unexpected error"
    assert "file is not a database" in lines[-1]["exc_info"]
