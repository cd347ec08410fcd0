"""The console runs the same commands: forms asked field by field, local files, /press."""

from __future__ import annotations

import asyncio
import getpass
import io
from pathlib import Path

import pytest

from bot.core import Core
from bot.platforms.console import ConsolePlatform
from tests.conftest import StartHerald, betahub_env, discord_env, unmarked
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import FakeDiscord

BUG = "The game crashes when I open the map after loading a save"


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> Core:
    return await herald(**discord_env(discord), **betahub_env(betahub))


async def run_console(core: Core, typed: str) -> str:
    """Type `typed` at a console on `core` until its end; what the console printed."""
    out = io.StringIO()
    await ConsolePlatform(core, stdin=io.StringIO(typed), stdout=out).start()
    await asyncio.wait_for(core.wait_stopped(), 10)
    return out.getvalue()


async def test_report_from_the_console_is_sourced_and_signed(
    core: Core, betahub: FakeBetaHub
) -> None:
    printed = await run_console(core, f"/report description: {BUG} steps: 1. open map\n")

    (created,) = betahub.created
    assert created["issue[source]"] == "console"
    signed = f"{BUG}\n\n— sent from Console by {getpass.getuser()}"
    assert unmarked(created["issue[description]"]) == signed
    assert created["issue[unformatted_steps_to_reproduce]"] == "1. open map"
    assert "user[discord_id]" not in created
    assert "Bug report received: The game crashes" in printed


async def test_a_bare_command_asks_for_each_field(core: Core, betahub: FakeBetaHub) -> None:
    printed = await run_console(core, f"/report\n{BUG}\n\nMap crash\n\n\n\n")

    assert "Description (required): " in printed
    assert "Steps (optional): " in printed
    assert "Screenshot (optional): " in printed, "files are asked for as local paths"
    (created,) = betahub.created
    assert created["issue[title]"] == "Map crash"
    assert "issue[unformatted_steps_to_reproduce]" not in created


async def test_an_empty_required_field_cancels(core: Core, betahub: FakeBetaHub) -> None:
    printed = await run_console(core, "/suggest\n\n")
    assert "Cancelled." in printed
    assert betahub.calls == []


async def test_ticket_attachments_are_local_files(
    core: Core, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    (tmp_path / "crash.log").write_bytes(b"segfault at 0x0\n")
    (tmp_path / "shot.png").write_bytes(b"\x89PNG-bytes")
    printed = await run_console(
        core,
        "/ticket description: My save vanished after the update"
        f" attachment: {tmp_path / 'crash.log'}, {tmp_path / 'shot.png'}\n",
    )
    (call,) = betahub.find("POST", "/tickets.json")
    assert call.files["ticket[attachments][]"] == [
        ("crash.log", b"segfault at 0x0\n"),
        ("shot.png", b"\x89PNG-bytes"),
    ]
    assert "Support ticket created" in printed


async def test_report_evidence_is_local_files_uploaded_by_option(
    core: Core, betahub: FakeBetaHub, tmp_path: Path
) -> None:
    (tmp_path / "crash.txt").write_bytes(b"segfault at 0x0\n")
    (tmp_path / "shot.png").write_bytes(b"\x89PNG-bytes")
    printed = await run_console(
        core,
        f"/report description: {BUG} screenshot: {tmp_path / 'shot.png'}"
        f" log: {tmp_path / 'crash.txt'}\n",
    )
    assert betahub.evidence == [
        ("screenshots", "screenshot[image]", "shot.png", b"\x89PNG-bytes"),
        ("log_files", "log_file[file]", "crash.txt", b"segfault at 0x0\n"),
    ]
    assert "shot.png attached" in printed


async def test_a_missing_file_is_named(core: Core, betahub: FakeBetaHub) -> None:
    printed = await run_console(core, f"/ticket description: {BUG} attachment: nope.log\n")
    assert "There is no file nope.log." in printed
    assert betahub.calls == []


async def test_buttons_are_pressed_by_number(core: Core, betahub: FakeBetaHub) -> None:
    betahub.seed("issues", "Game crashes when opening the map")
    printed = await run_console(
        core, f"/report description: {BUG} title: Crash opening map\n/press 1\n"
    )
    assert "[Create anyway] type /press 1" in printed
    assert "[Cancel] type /press 2" in printed
    (created,) = betahub.created
    assert created["issue[title]"] == "Crash opening map"


async def test_mine_on_the_console_lists_what_was_created_there(core: Core) -> None:
    printed = await run_console(core, f"/report description: {BUG} title: Map crash\n/mine\n")

    assert "Your latest items:" in printed
    assert "• Bug report [Map crash](https://app.betahub.io/projects/" in printed
    assert "not read yet" in printed


async def test_the_console_speaks_the_terminals_language(
    herald: StartHerald, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    core = await herald("tests.bot.sample_cogs")
    await run_console(core, "/echo text: bonjour\n")

    (seen,) = core.cogs["sample"].seen  # type: ignore[attr-defined]
    assert seen.locale == "fr"
