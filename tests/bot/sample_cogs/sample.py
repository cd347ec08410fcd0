"""Commands with every option kind, an admin command, a crash and autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from bot.cog import Cog
from bot.commands import Choice, Option, command
from bot.errors import UserError
from bot.models import Card, Invocation, Reply, Role

if TYPE_CHECKING:
    from bot.core import Core

FRUITS = ["apple", "apricot", "banana", "blueberry"]


class Sample(Cog):
    name = "sample"

    def __init__(self) -> None:
        self.seen: list[Invocation] = []

    @command("echo", "Repeat text back")
    async def echo(
        self,
        ctx: Invocation,
        text: Annotated[str, Option("What to repeat", max_length=50)],
        times: Annotated[int, Option("How often", min_value=1, max_value=3)] = 1,
        loud: Annotated[bool, Option("Shout it")] = False,
        size: Annotated[
            str | None, Option("Size", choices=[Choice("Small", "s"), Choice("Large", "l")])
        ] = None,
        fruit: Annotated[str | None, Option("A fruit", autocomplete="fruits")] = None,
    ) -> Reply:
        self.seen.append(ctx)
        said = " ".join([text.upper() if loud else text] * times)
        return Reply(card=Card(title=said, description=f"size={size} fruit={fruit}"))

    async def fruits(self, ctx: Invocation, current: str) -> list[Choice]:
        return [Choice(f.capitalize(), f) for f in FRUITS if f.startswith(current.lower())]

    @command("admin wipe", "Wipe everything", admin=True)
    async def wipe(self, ctx: Invocation) -> Reply:
        return Reply(text="wiped", ephemeral=True)

    @command("admin crash", "Fail unexpectedly", admin=True)
    async def crash(self, ctx: Invocation) -> Reply:
        raise RuntimeError("secret internals")

    @command("admin config role", "Choose a role", admin=True)
    async def role(self, ctx: Invocation, role: Annotated[Role, Option("The role")]) -> Reply:
        held = "holds" if role.id in ctx.roles else "does not hold"
        return Reply(text=f"{role.name} ({role.id}); the caller {held} it")

    @command("refuse", "Fail with a reason")
    async def refuse(self, ctx: Invocation) -> Reply:
        raise UserError("Not today.")


async def setup(core: Core) -> None:
    await core.add_cog(Sample())
