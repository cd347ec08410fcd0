"""Typed command lines, as the console and Slack's slash commands read them."""

from __future__ import annotations

from typing import Annotated

import pytest

from bot.cmdline import parse
from bot.cog import Cog
from bot.commands import Option, command
from bot.errors import UserError
from bot.models import Channel, Invocation, Reply


class Sample(Cog):
    name = "sample"

    @command("build trigger", "Start a build")
    async def trigger(
        self,
        ctx: Invocation,
        platform: Annotated[str, Option("Target platform")],
        notes: Annotated[str | None, Option("Notes")] = None,
    ) -> Reply:
        return Reply(text=platform)

    @command("herald deliveries", "List or retry")
    async def deliveries(
        self,
        ctx: Invocation,
        action: Annotated[str, Option("What to do", choices=("list", "retry"))] = "list",
        channel: Annotated[Channel | None, Option("Which channel")] = None,
    ) -> Reply:
        return Reply(text=action)


@pytest.fixture
def commands():
    return {spec.name: spec for spec in Sample().commands()}


def test_subcommands_options_and_leading_text(commands) -> None:
    spec, raw = parse("/build trigger platform: win64 notes: nightly: yes", commands)
    assert spec.name == "build trigger"
    assert raw == {"platform": "win64", "notes": "nightly: yes"}
    _, raw = parse("/build trigger win64", commands)
    assert raw == {"platform": "win64"}


def test_unknown_commands_list_the_known_ones(commands) -> None:
    with pytest.raises(UserError, match=r"Unknown command /deploy. Commands: /build trigger."):
        parse("/deploy now", commands)
    with pytest.raises(UserError, match=r"Unknown command /build"):
        parse("/build", commands)


def test_leading_words_fill_options_with_choices_first(commands) -> None:
    _, raw = parse("/herald deliveries retry <#C1|builds>", commands)
    assert raw == {"action": "retry", "channel": "<#C1|builds>"}
    _, raw = parse("/herald deliveries RETRY", commands)
    assert raw == {"action": "RETRY"}
    _, raw = parse("/herald deliveries #builds", commands)
    assert raw == {"channel": "#builds"}, "an optional choice the word is not is passed over"
    _, raw = parse("/herald deliveries retry channel: #builds", commands)
    assert raw == {"action": "retry", "channel": "#builds"}
    _, raw = parse("/build trigger win64 notes: x", commands)
    assert raw == {"platform": "win64", "notes": "x"}
