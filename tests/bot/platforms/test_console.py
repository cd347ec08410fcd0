"""The console: commands piped through a real `python -m bot` process."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

from tests.conftest import betahub_env, spawn_bot, unmarked
from tests.fakes.betahub import FakeBetaHub


async def run_herald(tmp_path: Path, stdin: str, **env: str) -> tuple[int, str, str]:
    process = await spawn_bot(tmp_path, **env)
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 30)
    return process.returncode or 0, out.decode(), err.decode()


async def test_suggest_piped_into_the_console_reaches_betahub(
    tmp_path: Path, betahub: FakeBetaHub
) -> None:
    code, out, err = await run_herald(
        tmp_path,
        "/suggest description: Add a photo mode with a free camera title: Photo mode\n",
        **betahub_env(betahub),
    )

    assert code == 0, err
    assert "Suggestion received: Photo mode" in out
    assert "https://app.betahub.io/projects/pr-5287510306/feature_requests/1" in out
    (created,) = betahub.created
    assert created["feature_request[title]"] == "Photo mode"
    assert unmarked(created["feature_request[description]"]) == (
        f"Add a photo mode with a free camera\n\n— sent from Console by {getpass.getuser()}"
    )
    assert not any(key.startswith("user[discord") for key in created)


async def test_console_explains_itself_and_validates_like_discord(
    tmp_path: Path, betahub: FakeBetaHub
) -> None:
    code, out, _ = await run_herald(
        tmp_path, "/help\n/suggest description: short\n/nope\n", **betahub_env(betahub)
    )

    assert code == 0
    assert "no chat platform is connected" in out
    assert "set DISCORD_TOKEN" in out
    assert "/suggest: Suggest a feature for the game" in out
    assert "a suggestion needs at least 10 characters" in out
    (unknown,) = [line for line in out.splitlines() if "Unknown command /nope." in line]
    assert "/suggest" in unknown.split("Commands:")[1]
    assert betahub.calls == []


async def test_with_nothing_configured_the_console_says_what_to_set(tmp_path: Path) -> None:
    code, out, err = await run_herald(tmp_path, "")
    assert code == 0
    assert "betahub is off: set BETAHUB_TOKEN, BETAHUB_PROJECT_ID to turn it on" in out
    assert "Herald is ready on console" in err
