"""UserEcho's REST API (v2), as much of it as `/topic` uses.

Answers wrap their data: `{"status": "success"|"error", "data": …, "message": …}`;
an answer whose status is `error` is a refusal even when its HTTP status is 200.

The forum search (`GET forums/{id}/topics/search.json`) is listed in UserEcho's
reference without its parameters or answer: `query` and a list of topic
objects (`id`, `header`, `description`, perhaps `url`) are guesses, read
defensively (a `{"topics": [...]}` wrapper is accepted too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from bot.duplicates import Match
from bot.errors import ServiceError
from bot.http import ServiceClient
from bot.i18n import _


@dataclass(frozen=True, slots=True)
class Named:
    """A topic type or category: its id and its name."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    url: str | None


def read_error(response: httpx.Response) -> str | None:
    body = response.json()
    if not isinstance(body, dict):
        return None
    for key in ("message", "error", "detail"):
        if isinstance(body.get(key), str) and body[key].strip():
            return f"UserEcho: {body[key].strip()}"
    return None


def topic_status(topic: dict[str, Any]) -> str | None:
    """A topic's status: `{"id": 1, "name": "New"}` as UserEcho answers, or a bare word."""
    status = topic.get("status")
    if isinstance(status, dict):
        status = status.get("name")
    return status.strip() if isinstance(status, str) and status.strip() else None


def site_of(api_url: str) -> str:
    """`https://alias.userecho.com/api/v2` -> `https://alias.userecho.com`."""
    base = api_url.rstrip("/")
    return base.removesuffix("/api/v2").removesuffix("/api")


class UserEchoClient:
    def __init__(self, http: ServiceClient, forum_id: int, site: str) -> None:
        self.http = http
        self.forum_id = forum_id
        self.site = site.rstrip("/")

    async def listing(self, what: str) -> list[Named]:
        """The forum's topic `types` or `categories`."""
        data = await self._data("GET", f"forums/{self.forum_id}/{what}.json")
        items = data if isinstance(data, list) else []
        return [
            Named(str(item["id"]), str(item.get("name") or item.get("header") or item["id"]))
            for item in items
            if isinstance(item, dict) and item.get("id") is not None
        ]

    async def user_for_sso_guid(self, guid: str) -> str | None:
        """The UserEcho user id for an SSO guid, or None when there is no such user."""
        try:
            data = await self._data("GET", f"users/sso/{quote(guid, safe='')}.json")
        except ServiceError as error:
            if error.retryable:
                raise
            return None
        if isinstance(data, dict) and data.get("id") is not None:
            return str(data["id"])
        return None

    async def create_topic(self, body: dict[str, Any]) -> Topic:
        data = await self._data("POST", f"forums/{self.forum_id}/topics.json", json=body)
        return self._topic(data if isinstance(data, dict) else {})

    async def find_topic(self, reference: str) -> Topic | None:
        """The forum's topic whose description carries `reference`, if there is one.

        The search is full-text and may answer with topics sharing only part
        of the query, so a hit counts only when its description contains the
        reference (as text: UserEcho may have turned the description into HTML).
        """
        for item in await self._search(reference):
            text = item.get("description")
            if isinstance(text, str) and reference in text and item.get("id") is not None:
                return self._topic(item)
        return None

    async def topic_status(self, topic_id: str) -> str | None:
        """A topic's status name (`GET topics/{id}`); None when it is gone or has none."""
        try:
            data = await self._data("GET", f"topics/{quote(topic_id, safe='')}.json")
        except ServiceError as error:
            if error.status == 404:
                return None
            raise
        return topic_status(data) if isinstance(data, dict) else None

    async def search_topics(self, query: str) -> list[Match]:
        """The forum's topics like `query` (full-text, loosely ranked), with links."""
        found = []
        for item in await self._search(query):
            header = item.get("header")
            if isinstance(header, str) and header.strip() and item.get("id") is not None:
                found.append(Match(header.strip(), self._topic(item).url))
        return found

    async def topic_titles(self, query: str) -> list[str]:
        """The headers of the forum's topics like `query`, for autocomplete."""
        return [match.title for match in await self.search_topics(query)]

    async def _search(self, query: str) -> list[dict[str, Any]]:
        data = await self._data(
            "GET", f"forums/{self.forum_id}/topics/search.json", params={"query": query}
        )
        if isinstance(data, dict):
            data = data.get("topics")
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    def _topic(self, data: dict[str, Any]) -> Topic:
        topic_id = str(data.get("id", ""))
        url = data.get("url") or data.get("public_url")
        if not url and topic_id:
            url = f"{self.site}/topics/{topic_id}/"
        return Topic(topic_id, url)

    async def _data(self, method: str, path: str, **options: Any) -> Any:
        response = await self.http.request(method, path, **options)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, dict) and body.get("status") == "error":
            reason = read_error(response) or _("UserEcho refused the request.")
            raise ServiceError("UserEcho", reason, status=response.status_code)
        return body.get("data") if isinstance(body, dict) else body
