"""Neutral command definitions: signatures become specs, and binding validates."""

from __future__ import annotations

from typing import Annotated

import pytest

from bot.cog import Cog
from bot.commands import Choice, Option, OptionKind, command
from bot.errors import UserError
from bot.models import Invocation, Reply


class Tracker(Cog):
    name = "tracker"

    @command("file", "File an item")
    async def file(
        self,
        ctx: Invocation,
        text: Annotated[str, Option("Text", min_length=5, max_length=20, too_short="Say more.")],
        priority: Annotated[str, Option("Priority", choices=["low", "high"])] = "low",
        count: Annotated[int | None, Option("Count", min_value=1, max_value=5)] = None,
        urgent: Annotated[bool, Option("Urgent")] = False,
        size: Annotated[str | None, Option("Size", choices=[Choice("Large", "l")])] = None,
    ) -> Reply:
        return Reply(text=text)


@pytest.fixture
def spec():
    (found,) = Tracker().commands()
    return found


def test_the_signature_is_the_definition(spec) -> None:
    assert spec.name == "file"
    assert [(p.name, p.kind, p.required) for p in spec.params] == [
        ("text", OptionKind.TEXT, True),
        ("priority", OptionKind.TEXT, False),
        ("count", OptionKind.INTEGER, False),
        ("urgent", OptionKind.BOOLEAN, False),
        ("size", OptionKind.TEXT, False),
    ]
    assert spec.param("priority").choices == (Choice("low", "low"), Choice("high", "high"))


def test_binding_types_strings_and_fills_defaults(spec) -> None:
    bound = spec.bind({"text": "  hello world ", "count": "3", "urgent": "yes", "size": "Large"})
    assert bound == {
        "text": "hello world",
        "priority": "low",
        "count": 3,
        "urgent": True,
        "size": "l",
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "Please give a text. Usage: /file text: …"),
        ({"text": "hey"}, "Say more."),
        ({"text": "x" * 21}, "The text is too long (21 characters); the limit is 20."),
        ({"text": "hello", "priority": "urgent"}, "The priority must be one of: low, high."),
        ({"text": "hello", "count": "many"}, "The count must be a whole number."),
        ({"text": "hello", "count": 9}, "The count must be at most 5."),
        ({"text": "hello", "urgent": "perhaps"}, "The urgent must be yes or no."),
        ({"text": "hello", "colour": "red"}, "/file has no option colour."),
    ],
)
def test_bad_values_get_a_sentence_to_act_on(spec, raw, message) -> None:
    with pytest.raises(UserError) as error:
        spec.bind(raw)
    assert error.value.message.startswith(message)


def test_an_option_without_metadata_is_a_definition_error() -> None:
    class Broken(Cog):
        name = "broken"

        @command("oops", "Broken")
        async def oops(self, ctx: Invocation, text: str) -> Reply:
            return Reply()

    with pytest.raises(TypeError, match=r"annotate as Annotated"):
        Broken().commands()
