"""`/topic`: a new topic on the studio's UserEcho community forum.

The forum's topic types and categories are fetched once and cached (they
change rarely), and offered as choices. The topic is posted as the chat user
when UserEcho knows them (an SSO guid built from `USERECHO_SSO_GUID_FORMAT`
resolves to a user); otherwise the description names them. Like every
submission it is stored first and retried while UserEcho is down.

Before a topic is opened the forum is searched for its title (best effort,
on the quick client): close matches are shown with **Create anyway** and
**Cancel** (`bot.duplicates`), and `title` autocompletes from the forum.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from bot.cog import Cog
from bot.commands import Choice, Option, action, command
from bot.config import HttpUrl, ServiceSettings
from bot.dispatch import echo_reply
from bot.duplicates import DuplicateCheck, Prompt, title_choices
from bot.errors import ServiceError, UserError
from bot.i18n import N_, _, speaking
from bot.models import Card, Colour, Invocation, LinkButton, Reply, User
from bot.pending import Outgoing, Receipt, Saved, Submission, Submissions, SubmissionSettings
from bot.ratelimit import RateLimiter
from bot.text import escape, truncate
from cogs.userecho.client import Named, UserEchoClient, read_error, site_of
from cogs.userecho.followups import topic_status_reader

if TYPE_CHECKING:
    from bot.core import Core

LOOKUP_TIMEOUT = 2.5
CATALOG_TTL = 600.0
TOPIC_TOO_SHORT = N_(
    "Tell the community a little more: a topic needs at least 10 characters of description."
)
PROMPT = Prompt(
    N_("topic"),
    N_("Vote for"),
    N_("Votes and comments on an existing topic count more than a new copy."),
)
# A type or category the forum does not have, by what was looked for.
UNKNOWN = {
    "topic type": N_("There is no topic type “{value}” on the forum. Choose one of: {names}."),
    "category": N_("There is no category “{value}” on the forum. Choose one of: {names}."),
}


class TopicSettings(ServiceSettings):
    """`USERECHO_*` for `/topic`."""

    model_config = SettingsConfigDict(env_prefix="USERECHO_")

    url: HttpUrl
    token: SecretStr
    forum_id: int = Field(ge=1)
    sso_guid_format: str | None = None
    followup_poll_seconds: float = Field(default=600.0, ge=0, le=86400)

    @field_validator("sso_guid_format")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(platform="discord", id="1", name="n")
            except (KeyError, IndexError, ValueError):
                raise ValueError(
                    "may only use {platform}, {id} and {name}, e.g. discord-{id}"
                ) from None
        return value


class Catalog:
    """The forum's topic types and categories, cached; stale beats nothing."""

    def __init__(self, client: UserEchoClient, ttl: float = CATALOG_TTL) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, list[Named]]] = {}

    async def get(self, what: str) -> list[Named]:
        cached = self._cache.get(what)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            items = await self.client.listing(what)
        except ServiceError:
            return cached[1] if cached else []
        self._cache[what] = (time.monotonic(), items)
        return items

    async def warm(self) -> None:
        for what in ("types", "categories"):
            await self.get(what)


def pick(value: str | None, known: list[Named], what: str) -> Named | None:
    """The type or category the user chose, by id or by name."""
    if value is None or not known:
        return None
    lowered = value.strip().lower()
    for item in known:
        if lowered in (item.id.lower(), item.name.lower()):
            return item
    names = ", ".join(escape(item.name) for item in known[:25])
    raise UserError(_(UNKNOWN[what], value=escape(value), names=names))


class Topics(Cog):
    """Forum topics into UserEcho, for the user where UserEcho allows."""

    name = "userecho"

    def __init__(
        self, core: Core, settings: TopicSettings, submissions: SubmissionSettings
    ) -> None:
        self.core = core
        self.settings = settings
        options: dict[str, Any] = {
            "headers": {
                "Authorization": f"Bearer {settings.token.get_secret_value()}",
                "Accept": "application/json",
            },
            "limiter": RateLimiter(rate=5, per=1.0, burst=5),
            "read_error": read_error,
            "auth_hint": "USERECHO_TOKEN",
        }
        site = site_of(settings.url)
        http = core.http("UserEcho", settings.url, timeout=settings.timeout_seconds, **options)
        quick = core.http(
            "UserEcho",
            settings.url,
            timeout=min(settings.timeout_seconds, LOOKUP_TIMEOUT),
            max_attempts=1,
            **options,
        )
        self.api = UserEchoClient(http, settings.forum_id, site)
        # Lookups a user waits for (choices, the duplicate search): one short try.
        self.quick = UserEchoClient(quick, settings.forum_id, site)
        self.catalog = Catalog(self.quick)
        self.submissions = Submissions(
            core, "userecho", "UserEcho", self._send, submissions, find=self._find
        )
        self.duplicates = DuplicateCheck(self.submissions, self.name)
        self._members: dict[str, str | None] = {}
        self.followups = topic_status_reader(self.api, settings.followup_poll_seconds)
        core.followups.register(self.followups)
        self.tracker_language = core.settings.herald_tracker_language

    async def load(self) -> None:
        self.submissions.start()
        self.core.spawn(self.catalog.warm(), name="userecho-catalog")
        if self.settings.followup_poll_seconds > 0:
            self.run_in_background(
                self.core, self.core.followups.poll(self.followups), "userecho-followups"
            )

    async def unload(self) -> None:
        await super().unload()
        await self.submissions.stop(grace=self.settings.timeout_seconds + 2)

    @command("topic", N_("Start a topic on the community forum"))
    async def topic(
        self,
        ctx: Invocation,
        title: Annotated[
            str,
            Option(
                N_("The topic's headline"),
                min_length=3,
                max_length=200,
                autocomplete="similar_topics",
                label=N_("Title"),
            ),
        ],
        description: Annotated[
            str,
            Option(
                N_("What you want to say or ask"),
                min_length=10,
                max_length=4000,
                paragraph=True,
                too_short=TOPIC_TOO_SHORT,
                label=N_("Description"),
            ),
        ],
        kind: Annotated[
            str | None,
            Option(
                N_("Idea, problem, question… (default: the forum's first)"),
                autocomplete="types",
                label=N_("Kind"),
            ),
        ] = None,
        category: Annotated[
            str | None,
            Option(
                N_("Where it belongs on the forum"), autocomplete="categories", label=N_("Category")
            ),
        ] = None,
    ) -> Reply:
        async with self.submissions.cooldown(ctx.user) as slot:
            chosen_type = pick(kind, await self.catalog.get("types"), "topic type")
            chosen_category = pick(category, await self.catalog.get("categories"), "category")
            payload = {
                "title": title,
                "description": description,
                "kind": chosen_type.id if chosen_type else kind,
                "kind_name": chosen_type.name if chosen_type else kind,
                "category": chosen_category.id if chosen_category else category,
                "category_name": chosen_category.name if chosen_category else category,
            }
            summary = _("topic **{title}**", title=escape(title))
            outgoing = Outgoing("topic", payload, summary, description)
            matches = await self.duplicates.close_to(title, self.quick.search_topics)
            if matches:
                return await self.duplicates.ask(ctx, outgoing, slot, matches, PROMPT)
            try:
                outcome = await self.submissions.submit(ctx, outgoing, slot)
            except ServiceError as error:
                return echo_reply(error.message, description)
        return self._reply(payload, outgoing.summary, outcome, ctx.public_language)

    @action("create")
    async def create_anyway(self, ctx: Invocation, argument: str) -> Reply:
        """ "Create anyway" on the duplicate prompt: post the stored draft."""

        async def confirm(draft: Submission, outcome: Receipt | Saved) -> Reply:
            return self._reply(draft.payload, draft.summary, outcome, ctx.public_language)

        return await self.duplicates.create_anyway(ctx, argument, confirm)

    @action("discard")
    async def discard(self, ctx: Invocation, argument: str) -> Reply:
        """ "Cancel" on the duplicate prompt."""
        return await self.duplicates.cancel(ctx, argument)

    def _reply(
        self,
        payload: dict[str, Any],
        summary: str,
        outcome: Receipt | Saved,
        language: str | None,
    ) -> Reply:
        """The public card in `language` (the channel's), or the saved-for-later notice."""
        if isinstance(outcome, Saved):
            return self.submissions.saved_reply(outcome, summary)
        with speaking(language):
            card = _confirmation(payload, outcome)
        return self.submissions.confirmed(card, outcome)

    async def similar_topics(self, ctx: Invocation, current: str) -> list[Choice]:
        return await title_choices(current, self.quick.topic_titles)

    async def types(self, ctx: Invocation, current: str) -> list[Choice]:
        return _choices(await self.catalog.get("types"), current)

    async def categories(self, ctx: Invocation, current: str) -> list[Choice]:
        return _choices(await self.catalog.get("categories"), current)

    async def _send(self, submission: Submission) -> Receipt:
        payload = submission.payload
        body: dict[str, Any] = {
            "header": payload["title"],
            "description": payload["description"],
            "type": await self._type_id(payload.get("kind")),
        }
        if payload.get("category"):
            body["category"] = _number(payload["category"])
        member = await self._member(submission.user)
        if member is not None:
            body["user_id"] = _number(member)
        else:
            with speaking(self.tracker_language):
                body["description"] = f"{payload['description']}\n\n{_signature(submission.user)}"
        body["description"] = submission.marked(body["description"])
        topic = await self.api.create_topic(body)
        return Receipt(topic.id, topic.url, payload["title"])

    async def _find(self, submission: Submission) -> Receipt | None:
        topic = await self.api.find_topic(submission.reference)
        return Receipt(topic.id, topic.url, submission.payload["title"]) if topic else None

    async def _type_id(self, kind: str | None) -> int | str:
        """The type to post with: the chosen one, else the forum's first (fetched now)."""
        known = await self.catalog.get("types")
        if not known:
            raise ServiceError(
                "UserEcho",
                _("UserEcho is not answering right now (no topic types)."),
                retryable=True,
            )
        chosen = pick(kind, known, "topic type") if kind else known[0]
        return _number(chosen.id if chosen else known[0].id)

    async def _member(self, user: User) -> str | None:
        """The UserEcho user to post as, when the SSO guid format names one that exists."""
        fmt = self.settings.sso_guid_format
        if fmt is None:
            return None
        guid = fmt.format(platform=user.platform, id=user.id, name=user.name)
        if guid not in self._members:
            self._members[guid] = await self.api.user_for_sso_guid(guid)
        return self._members[guid]


def _choices(known: list[Named], current: str) -> list[Choice]:
    lowered = current.strip().lower()
    return [
        Choice(truncate(item.name, 100), item.id) for item in known if lowered in item.name.lower()
    ][:25]


def _number(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value


def _signature(user: User) -> str:
    """Herald's line naming a poster UserEcho does not know: "— posted from Slack by Ann"."""
    where = user.platform.capitalize() + (f" ({user.workspace})" if user.workspace else "")
    return _("— posted from {place} by {user}", place=where, user=user.label)


def _confirmation(payload: dict[str, Any], receipt: Receipt) -> Reply:
    card = Card(
        title=_("Topic posted: {title}", title=escape(payload["title"])),
        url=receipt.url,
        description=escape(truncate(payload["description"], 500)),
        colour=Colour.OK,
        footer=_("UserEcho community forum · others can vote and comment"),
    )
    card.add_field(_("Type"), escape(payload["kind_name"] or ""))
    card.add_field(_("Category"), escape(payload["category_name"] or ""))
    buttons = [LinkButton(_("Open on UserEcho"), receipt.url)] if receipt.url else []
    return Reply(card=card, buttons=list(buttons))


async def setup(core: Core) -> None:
    settings = core.service_settings(TopicSettings)
    await core.add_cog(Topics(core, settings, Submissions.settings_for(core)))
