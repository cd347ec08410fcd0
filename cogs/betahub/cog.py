"""The BetaHub cog: `/suggest`, and new releases announced (later, tickets and bug reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from bot.cog import Cog
from bot.commands import Option, command
from bot.errors import ServiceError, UserError
from bot.models import Card, Colour, Invocation, LinkButton, Reply
from bot.polling import Emit
from bot.ratelimit import RateLimiter
from bot.text import escape, truncate
from cogs.betahub.client import BetaHubClient, read_error
from cogs.betahub.releases import ReleasePoller
from cogs.betahub.settings import BetaHubSettings

if TYPE_CHECKING:
    from bot.core import Core

SUGGESTION_TOO_SHORT = (
    "Tell us a little more: a suggestion needs at least 10 characters."
    " What would you like to see in the game, and how would it help you?"
)


class BetaHub(Cog):
    """Feature requests into BetaHub, sent on the user's behalf; new releases announced."""

    name = "betahub"

    def __init__(self, core: Core, settings: BetaHubSettings, emit: Emit) -> None:
        self.core = core
        self.settings = settings
        self.emit = emit
        http = core.http(
            "BetaHub",
            settings.url,
            headers={
                "Authorization": settings.authorization,
                "BetaHub-Project-ID": settings.project_id,
                "Accept": "application/json",
            },
            timeout=settings.timeout_seconds,
            limiter=RateLimiter(rate=5, per=1.0, burst=5),
            read_error=read_error,
            auth_hint="BETAHUB_TOKEN",
        )
        self.api = BetaHubClient(http, settings.project_id)
        self.releases = ReleasePoller(
            self.api,
            lambda: core.store,
            emit,
            base_url=settings.url,
            interval=settings.releases_poll_seconds,
        )

    async def load(self) -> None:
        if self.settings.releases_poll_seconds > 0:
            self.run_in_background(self.core, self.releases.run(), "betahub-releases")

    @command("suggest", "Suggest a feature for the game")
    async def suggest(
        self,
        ctx: Invocation,
        description: Annotated[
            str,
            Option(
                "What you would like to see, and why",
                min_length=10,
                max_length=4000,
                paragraph=True,
                too_short=SUGGESTION_TOO_SHORT,
            ),
        ],
        title: Annotated[str | None, Option("A short title for your idea", max_length=100)] = None,
    ) -> Reply:
        try:
            created = await self.api.create_feature_request(description, title, ctx.user)
        except ServiceError as error:
            if error.retryable:
                raise UserError(
                    f"{error.message} Your suggestion was not sent; please try again in a few"
                    " minutes."
                ) from None
            raise
        heading = title or truncate(description.splitlines()[0], 80)
        card = Card(
            title=f"Suggestion received: {escape(heading)}",
            url=created.url,
            description=escape(truncate(description, 500)),
            colour=Colour.OK,
            footer="BetaHub feature request · others can vote on it",
        )
        buttons = [LinkButton("View on BetaHub", created.url)] if created.url else []
        return Reply(card=card, buttons=buttons)
