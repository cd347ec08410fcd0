"""UserEcho's forum webhooks: topic and comment announcements.

UserEcho posts `{"hook": "<event>", "created": ..., "data": {...}}` signed
with `X-UE-Signature`, a hex HMAC-SHA1 of the raw body keyed with the
webhook key. Topic events keep the topic's one card current; comment events
are lines in the thread under it. Topic and comment text is HTML: it is
reduced to text and escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.cache import Lookups, lookup_client
from bot.cog import Cog
from bot.events import Attributes, Event, Mode, Source
from bot.http import ServiceClient
from bot.i18n import N_, _
from bot.models import Card, Colour
from bot.payload import get, ident, names, obj, text, when
from bot.text import escape, escape_inline, html_to_text, truncate
from bot.webhooks import BadDelivery, BodySignature, Incoming
from cogs.userecho.client import topic_status
from cogs.userecho.webhook_settings import UserEchoWebhookSettings

if TYPE_CHECKING:
    from bot.core import Core

SOURCE = "userecho"
LABEL = "UserEcho"
PATH = "/webhooks/userecho"
SIGNATURE_HEADER = "X-UE-Signature"
KINDS = (
    "topic.created",
    "topic.accepted",
    "topic.deleted",
    "topic.satisfaction_received",
    "topic.satisfaction_changed",
    "comment.created",
    "comment.accepted",
    "comment.deleted",
)
ATTRIBUTES = ("forum", "category", "type", "status", "tag")


def hint() -> str:
    return _(
        "Point UserEcho at Herald (Settings > Integrations > Webhooks, or the API's"
        " `POST hooks.json`): target URL `https://<herald>{path}`, one hook per event;"
        " put the webhook key UserEcho shows in USERECHO_WEBHOOK_KEY.",
        path=PATH,
    )


# What happened to a topic; translated where shown.
TOPIC_LINES = {
    "created": N_("🆕 new topic"),
    "accepted": N_("✅ accepted"),
    "deleted": N_("🗑 deleted"),
    "satisfaction_received": N_("⭐ satisfaction rated"),
    "satisfaction_changed": N_("⭐ satisfaction rating changed"),
}
# The same with what the line adds: who opened the topic, the rating given.
TOPIC_LINES_WITH = {
    "created": N_("🆕 new topic by {author}"),
    "satisfaction_received": N_("⭐ satisfaction rated: {rating}"),
    "satisfaction_changed": N_("⭐ satisfaction rating changed: {rating}"),
}


class UserEchoEvents(Cog):
    """Announces UserEcho topic and comment webhooks in subscribed channels."""

    name = "userecho_events"

    def __init__(self, core: Core, settings: UserEchoWebhookSettings) -> None:
        self.core = core
        self.settings = settings
        token = settings.token.get_secret_value() if settings.token else None
        http = lookup_client(
            core,
            LABEL,
            settings.url,
            f"Bearer {token}" if token else None,
            timeout=settings.timeout_seconds,
            per_second=5,
            burst=5,
            auth_hint="USERECHO_TOKEN",
        )
        self.api = UserEchoLookups(http)
        core.announcements.add_webhook(
            Source(SOURCE, LABEL, KINDS, ATTRIBUTES, self.normalise, hint),
            PATH,
            BodySignature(SIGNATURE_HEADER, settings.webhook_key.get_secret_value()),
            _read,
            ignored_status=200,  # UserEcho sends anything but a 200 again 5 min later
        )

    async def normalise(self, kind: str, body: dict[str, Any]) -> Event | None:
        family, _dot, verb = kind.partition(".")
        data = obj(body, "data")
        if family == "topic":
            return await self._topic(kind, verb, data)
        if family == "comment":
            return await self._comment(kind, verb, data)
        return None

    async def _topic(self, kind: str, verb: str, topic: dict[str, Any]) -> Event:
        number = ident(topic, "id") or "?"
        title = text(topic, "header") or _("Topic {number}", number=number)
        url = self._topic_url(topic)
        author = await self._author(topic)
        forum = text(topic, "forum", "name")
        card = Card(
            title=escape(_("🗑 Deleted: {title}", title=title) if verb == "deleted" else title),
            url=url,
            description=_excerpt(text(topic, "description"), 400),
            colour=_topic_colour(verb),
            author=author,
            footer=" · ".join(p for p in (LABEL, forum, kind) if p),
            timestamp=when(topic, "updated") or when(topic, "created") or datetime.now(UTC),
        )
        status = text(topic, "status", "name")
        if verb != "deleted" and (word := topic_status(topic)) and number != "?":
            # A topic Herald created for someone: they hear of its new status (in the
            # background: a slow chat platform must not hold up the announcements).
            self.core.spawn(
                self.core.followups.observe(SOURCE, "topic", number, word), "userecho-followup"
            )
        card.add_field(_("Type"), escape(text(topic, "type", "name") or ""))
        card.add_field(_("Category"), escape(text(topic, "category", "name") or ""))
        card.add_field(_("Status"), escape(status or ""))
        card.add_field(_("Votes"), escape(text(topic, "vote_diff") or text(topic, "votes") or ""))
        card.add_field(_("Tags"), escape(", ".join(_tags(topic))))
        rating = text(topic, "satisfaction") or text(topic, "rating")
        if verb.startswith("satisfaction"):
            card.add_field(_("Satisfaction"), escape(rating) if rating else _("rated"))
        line = _topic_line(verb, author, rating)
        attributes: Attributes = {
            "forum": [forum] if forum else [],
            "category": [c] if (c := text(topic, "category", "name")) else [],
            "type": [t] if (t := text(topic, "type", "name")) else [],
            "status": [status] if status else [],
            "tag": _tags(topic),
        }
        attributes = {k: v for k, v in attributes.items() if v}
        return _event(kind, card, line, number, title, url, Mode.CARD, attributes)

    async def _comment(self, kind: str, verb: str, comment: dict[str, Any]) -> Event:
        topic = obj(comment, "topic")
        number = ident(topic, "id") or ident(comment, "topic_id") or "?"
        if text(topic, "header") is None and number != "?":
            topic = await self.api.topic(number) or topic
        title = text(topic, "header") or _("Topic {number}", number=number)
        who = escape_inline(await self._author(comment) or _("someone"))
        said = escape_inline(truncate(html_to_text(text(comment, "text") or ""), 280))
        if verb == "created":
            line = _("💬 **{who}**: {said}", who=who, said=said)
        elif verb == "accepted":
            line = _("✅ the comment by {who} was accepted: {said}", who=who, said=said)
        elif verb == "deleted":
            line = _("🗑 a comment by {who} was deleted", who=who)
        else:
            line = _("💬 comment {verb}: {said}", verb=verb.replace("_", " "), said=said)
        url = self._topic_url(topic) if topic else None
        card = Card(
            title=escape(title),
            url=url,
            description=line,
            colour=Colour.ACCENT,
            footer=" · ".join(p for p in (LABEL, text(topic, "forum", "name"), kind) if p),
            timestamp=when(comment, "created") or datetime.now(UTC),
        )
        return _event(kind, card, line, number, title, url, Mode.FOLLOW_UP, {})

    async def _author(self, thing: dict[str, Any]) -> str | None:
        for key in ("author", "user"):
            if name := text(thing, key, "name"):
                return name
        user = ident(thing, "author_id") or ident(thing, "user_id") or ident(thing, "author", "id")
        return await self.api.user_name(user) if user else None

    def _topic_url(self, topic: dict[str, Any]) -> str | None:
        url = text(topic, "url")
        if url and url.startswith("https://"):
            return url
        forum = ident(topic, "forum", "id") or ident(topic, "forum_id")
        number = ident(topic, "id")
        if self.settings.site and forum and number:
            return f"{self.settings.site}/communities/{forum}/topics/{number}"
        return None


class UserEchoLookups:
    """Cached look-ups through UserEcho's API; None when it is not configured or cannot say."""

    def __init__(self, http: ServiceClient | None) -> None:
        self.http = http
        self._topics: Lookups[dict[str, Any]] = Lookups(ttl=300.0)
        self._users: Lookups[str] = Lookups(ttl=3600.0)

    async def topic(self, number: str) -> dict[str, Any] | None:
        async def load() -> dict[str, Any] | None:
            return await self._data(f"topics/{number}.json")

        return await self._topics.get(number, load)

    async def user_name(self, user: str) -> str | None:
        async def load() -> str | None:
            return text(await self._data(f"users/{user}.json"), "name")

        return await self._users.get(user, load)

    async def _data(self, path: str) -> dict[str, Any] | None:
        """The `data` of a `{"status": "success", "data": ...}` answer."""
        body = await self.http.json_object(path) if self.http else None
        data = get(body, "data") if get(body, "status") == "success" else None
        return data if isinstance(data, dict) else None


def _event(
    kind: str,
    card: Card,
    line: str,
    topic: str,
    title: str,
    url: str | None,
    mode: Mode,
    attributes: Attributes,
) -> Event:
    """An event about a topic: its card, edits and thread hang on the topic's key."""
    return Event(SOURCE, kind, card, line, f"{SOURCE}:topic:{topic}", title, url, mode, attributes)


def _read(request: web.Request, body: dict[str, Any]) -> Incoming:
    kind = body.get("hook")
    if not isinstance(kind, str) or not kind.strip():
        raise BadDelivery('a UserEcho body needs "hook" (the event name)')
    if not isinstance(body.get("data"), dict):
        raise BadDelivery('a UserEcho body needs "data" (the topic or comment)')
    if "created" not in body:
        raise BadDelivery('a UserEcho body needs "created"')
    kind = kind.strip().lower()
    if kind.split(".")[0] in ("topic", "comment") and ident(body, "data", "id") is None:
        raise BadDelivery(f"a UserEcho {kind} body needs data.id")
    return Incoming(kind)


def _topic_line(verb: str, author: str | None, rating: str | None) -> str:
    """`🆕 new topic by Jane`, `⭐ satisfaction rated: 5`: what happened to a topic."""
    added = author if verb == "created" else rating if verb.startswith("satisfaction") else None
    if verb not in TOPIC_LINES:
        return verb.replace("_", " ")
    if added and verb in TOPIC_LINES_WITH:
        return _(TOPIC_LINES_WITH[verb], author=escape_inline(added), rating=escape_inline(added))
    return _(TOPIC_LINES[verb])


def _topic_colour(verb: str) -> Colour:
    return {"deleted": Colour.NEUTRAL, "accepted": Colour.OK}.get(verb, Colour.PINK)


def _tags(topic: dict[str, Any]) -> list[str]:
    tags = get(topic, "tags")
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return list(tags)
    return names(topic, "tags")


def _excerpt(html: str | None, limit: int) -> str | None:
    return escape(truncate(html_to_text(html), limit)) if html else None
