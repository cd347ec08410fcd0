"""BetaHub's REST API, as much of it as Herald uses.

Create calls are form-encoded with Rails-style keys; a Discord user is named
with the documented `user[discord_id]`, `user[discord_username]` and
`user[discord_discriminator]` fields. Users of other platforms have no such
fields, so they are named in the text instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.http import ServiceClient
from bot.models import User


@dataclass(frozen=True, slots=True)
class DownloadLink:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Release:
    """A release as `releases.json` lists it; every field but the id may be missing."""

    id: str
    label: str
    summary: str | None
    description: str | None
    url: str | None
    downloads: tuple[DownloadLink, ...]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Release:
        links = data.get("download_links") or data.get("download_links_attributes") or []
        downloads = tuple(
            DownloadLink(str(link.get("label") or link.get("platform") or "Download"), url)
            for link in links
            if isinstance(link, dict) and isinstance(url := link.get("url"), str) and url
        )
        return cls(
            id=str(data["id"]),
            label=str(data.get("label") or data.get("name") or data["id"]),
            summary=_text(data.get("summary")),
            description=_text(data.get("description")),
            url=_text(data.get("url")),
            downloads=downloads,
        )


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Created:
    """What BetaHub answers to a create call."""

    id: str
    url: str | None


def read_error(response: httpx.Response) -> str | None:
    """BetaHub's reason from `{"error": …}` or Rails' `{"errors": {field: [..]}}`."""
    body = response.json()
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("error"), str):
        return body["error"]
    errors = body.get("errors")
    if isinstance(errors, dict):
        return "; ".join(f"{field} {', '.join(map(str, msgs))}" for field, msgs in errors.items())
    if isinstance(errors, list):
        return "; ".join(map(str, errors))
    message = body.get("message")
    return message if isinstance(message, str) else None


def reporter_fields(user: User) -> dict[str, str]:
    if user.platform != "discord":
        return {}
    return {
        "user[discord_id]": user.id,
        "user[discord_username]": user.name,
        "user[discord_discriminator]": user.discriminator or "0",
    }


def attributed(text: str, user: User) -> str:
    """The text, signed with who sent it when BetaHub cannot know otherwise."""
    if user.platform == "discord":
        return text
    where = f"{user.platform.capitalize()}" + (f" ({user.workspace})" if user.workspace else "")
    return f"{text}\n\n— sent from {where} by {user.label}"


class BetaHubClient:
    def __init__(self, http: ServiceClient, project_id: str) -> None:
        self.http = http
        self.project_id = project_id

    async def releases(self) -> list[Release]:
        """The project's releases, oldest first."""
        response = await self.http.request("GET", f"projects/{self.project_id}/releases.json")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            body = body.get("releases")
        if not isinstance(body, list):
            return []
        return [Release.parse(r) for r in body if isinstance(r, dict) and r.get("id") is not None]

    async def create_feature_request(
        self, description: str, title: str | None, reporter: User
    ) -> Created:
        form = {"feature_request[description]": attributed(description, reporter)}
        if title:
            form["feature_request[title]"] = title
        form.update(reporter_fields(reporter))
        response = await self.http.request(
            "POST", f"projects/{self.project_id}/feature_requests.json", data=form
        )
        return _created(response)


def _created(response: httpx.Response) -> Created:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    return Created(id=str(body.get("id", "")), url=body.get("url") or None)
