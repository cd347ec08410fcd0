"""BetaHub's REST API, as much of it as Herald uses.

Create calls are form-encoded with Rails-style keys (multipart when files go
along); a Discord user is named with the documented `user[discord_id]`,
`user[discord_username]` and `user[discord_discriminator]` fields. Users of
other platforms have no such fields, so they are named in the text instead
(and their e-mail sent, when the platform gives it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bot.duplicates import Match
from bot.errors import ServiceError
from bot.files import FileData
from bot.http import ServiceClient
from bot.i18n import _
from bot.models import MessageRef, User

# What Herald creates, by the kind stored with a pending submission: the
# collection in the URL and the Rails form prefix.
COLLECTIONS = {"feature_request": "feature_requests", "issue": "issues", "ticket": "tickets"}
LIST_PAGE = 100  # the most issues BetaHub lists per page
# A bug report's evidence, by upload kind: the path under the issue and the
# multipart field of the file (log files also take their name).
UPLOADS = {
    "screenshot": ("screenshots", "screenshot[image]"),
    "video_clip": ("video_clips", "video_clip[video]"),
    "log_file": ("log_files", "log_file[file]"),
}


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

    def to_json(self) -> dict[str, Any]:
        """The release as BetaHub spells it, so `parse` reads it back."""
        return {
            "id": self.id,
            "label": self.label,
            "summary": self.summary,
            "description": self.description,
            "url": self.url,
            "download_links": [{"label": d.label, "url": d.url} for d in self.downloads],
        }


def _items(body: Any, collection: str) -> list[Any]:
    """A search answer's results: a bare list, or `{<collection>: [...]}`."""
    if isinstance(body, dict):
        body = body.get(collection) or body.get("results") or []
    return body if isinstance(body, list) else []


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _object(body: Any, name: str) -> dict[str, Any] | None:
    """An item answered as itself or wrapped as `{<name>: {...}}`."""
    if isinstance(body, dict) and isinstance(body.get(name), dict):
        return dict(body[name])
    if isinstance(body, dict) and body.get("id") is not None:
        return body
    return None


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Created:
    """What BetaHub answers to a create call; `token` (a draft's JWT) when it gave one."""

    id: str
    url: str | None
    token: str | None = None


def read_error(response: httpx.Response) -> str | None:
    """BetaHub's reason from `{"error": …}` or Rails' `{"errors": {field: [..]}}`."""
    body = response.json()
    if not isinstance(body, dict):
        return None
    if isinstance(error := body.get("error"), str):
        return error
    errors = body.get("errors")
    if isinstance(errors, dict):
        return "; ".join(f"{field} {', '.join(map(str, msgs))}" for field, msgs in errors.items())
    if isinstance(errors, list):
        return "; ".join(map(str, errors))
    message = body.get("message")
    return message if isinstance(message, str) else None


def reporter_fields(user: User, prefix: str) -> dict[str, str]:
    """Who the item is from: the documented Discord fields, else the e-mail if known.

    BetaHub has no Slack id fields; a Slack user's e-mail (when the app may
    read it) goes as `ticket[reporter_email]` on tickets, `user[email]` elsewhere.
    """
    if user.platform != "discord":
        if not user.email:
            return {}
        key = "ticket[reporter_email]" if prefix == "ticket" else "user[email]"
        return {key: user.email}
    return {
        "user[discord_id]": user.id,
        "user[discord_username]": user.name,
        "user[discord_discriminator]": user.discriminator or "0",
    }


def attributed(text: str, user: User, message: MessageRef | None = None) -> str:
    """The text as sent: with a link to the chat message it came from, and signed
    with who sent it when BetaHub cannot know otherwise.

    The player's text stays as written; Herald's lines are in the current
    language (the cog speaks `HERALD_TRACKER_LANGUAGE` while building forms).
    """
    if message is not None and message.url:
        if message.author:
            source = _("From a message by {author}: {url}", author=message.author, url=message.url)
        else:
            source = _("From a message: {url}", url=message.url)
        text = f"{text}\n\n{source}"
    if user.platform == "discord":
        return text
    return f"{text}\n\n{sent_from(user)}"


def sent_from(user: User) -> str:
    """Herald's signature for a user the tracker cannot name: "— sent from Slack (Acme) by Ann"."""
    where = user.platform.capitalize() + (f" ({user.workspace})" if user.workspace else "")
    return _("— sent from {place} by {user}", place=where, user=user.label)


def _form(prefix: str, fields: dict[str, str | None], reporter: User) -> dict[str, str]:
    form = {f"{prefix}[{key}]": value for key, value in fields.items() if value}
    form.update(reporter_fields(reporter, prefix))
    return form


def feature_request_form(
    description: str, title: str | None, reporter: User, message: MessageRef | None = None
) -> dict[str, str]:
    text = attributed(description, reporter, message)
    return _form("feature_request", {"description": text, "title": title}, reporter)


def issue_form(
    description: str,
    steps: str | None,
    title: str | None,
    reporter: User,
    message: MessageRef | None = None,
) -> dict[str, str]:
    fields = {
        "description": attributed(description, reporter, message),
        "unformatted_steps_to_reproduce": steps,
        "title": title,
        "source": reporter.platform,
    }
    return _form("issue", fields, reporter)


def ticket_form(
    description: str, title: str | None, priority: str | None, reporter: User
) -> dict[str, str]:
    fields = {"description": attributed(description, reporter), "title": title}
    fields["priority"] = priority
    return _form("ticket", fields, reporter)


class BetaHubClient:
    """Creates and searches; `search_http` is a quick, single-try client for lookups."""

    def __init__(
        self,
        http: ServiceClient,
        search_http: ServiceClient,
        project_id: str,
        site: str,
        upload_http: ServiceClient | None = None,
    ) -> None:
        self.http = http
        self.search_http = search_http
        self.upload_http = upload_http or http
        self.project_id = project_id
        self.site = site.rstrip("/")

    async def releases(self) -> list[Release]:
        """The project's releases, oldest first, each with a link (its page when BetaHub
        gives none)."""
        response = await self.http.request("GET", f"projects/{self.project_id}/releases.json")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            body = body.get("releases")
        if not isinstance(body, list):
            return []
        releases = [
            Release.parse(r) for r in body if isinstance(r, dict) and r.get("id") is not None
        ]
        return [replace(r, url=r.url or self._link("releases", r.id)) for r in releases]

    async def create(
        self,
        kind: str,
        form: dict[str, str],
        files: Sequence[FileData] = (),
        *,
        draft: bool = False,
    ) -> Created:
        """POST one item of `kind` (a key of `COLLECTIONS`); files go as `<kind>[attachments][]`.

        `draft` creates a hidden issue, to be published after its uploads.
        """
        collection = COLLECTIONS[kind]
        options: dict[str, Any] = {"data": {**form, "draft": "true"} if draft else form}
        if files:
            options["files"] = [
                (
                    f"{kind}[attachments][]",
                    (f.filename, f.data, f.content_type or "application/octet-stream"),
                )
                for f in files
            ]
        response = await self.http.request(
            "POST", f"projects/{self.project_id}/{collection}.json", **options
        )
        return self._created(response, collection)

    async def issues_page(self, status: str, page: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the project's issues in `status` (needs `can_list_issues`), and
        how many pages there are."""
        response = await self.http.request(
            "GET",
            f"projects/{self.project_id}/issues.json",
            params={"status": status, "page": str(page), "per_page": str(LIST_PAGE)},
        )
        body = _json(response)
        items = [i for i in _items(body, "issues") if isinstance(i, dict)]
        pagination = body.get("pagination") if isinstance(body, dict) else None
        pages = pagination.get("total_pages") if isinstance(pagination, dict) else None
        return items, pages if isinstance(pages, int) else page + (len(items) >= LIST_PAGE)

    async def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        """ "Get support ticket details"; None when BetaHub no longer has it."""
        try:
            response = await self.http.request(
                "GET", f"projects/{self.project_id}/tickets/{ticket_id}.json"
            )
        except ServiceError as error:
            if error.status == 404:
                return None
            raise
        return _object(_json(response), "ticket")

    async def feature_request(self, scoped_id: str) -> dict[str, Any] | None:
        """A feature request looked up by its scoped id through the search (the only
        single-item read BetaHub documents for them); None when it is not listed there."""
        response = await self.http.request(
            "GET",
            f"projects/{self.project_id}/feature_requests/search.json",
            params={"scoped_id": scoped_id, "query": scoped_id},
        )
        body = _json(response)
        found = _object(body, "feature_request")
        if found is not None:
            return found
        listed = [i for i in _items(body, "feature_requests") if isinstance(i, dict)]
        return listed[0] if len(listed) == 1 else None

    async def upload(
        self, issue_id: str, kind: str, file: FileData, token: str | None = None
    ) -> None:
        """Attach one file to an issue: `kind` is a key of `UPLOADS`; `token` is the
        draft's JWT, else Herald's own credentials are used."""
        path, field = UPLOADS[kind]
        data = {"log_file[name]": file.filename} if kind == "log_file" else None
        content = (file.filename, file.data, file.content_type or "application/octet-stream")
        await self.upload_http.request(
            "POST",
            f"{self._issue(issue_id)}/{path}.json",
            data=data,
            files=[(field, content)],
            headers=_bearer(token),
        )

    async def publish(self, issue_id: str, token: str | None = None) -> None:
        """Make a draft issue visible."""
        await self.http.request(
            "POST", f"{self._issue(issue_id)}/publish.json", json={}, headers=_bearer(token)
        )

    def _issue(self, issue_id: str) -> str:
        """An issue's path; BetaHub wants its id with the `g-` prefix."""
        scoped = issue_id if issue_id.startswith("g-") else f"g-{issue_id}"
        return f"projects/{self.project_id}/issues/{scoped}"

    async def titles(self, collection: str, query: str) -> list[str]:
        """Titles for autocomplete (`partial=true`: a few titles, quickly)."""
        body = await self._search(collection, {"query": query, "partial": "true"})
        return [m.title for m in self._matches(body, collection)]

    async def search(self, collection: str, query: str) -> list[Match]:
        """Existing items like `query`, with links, for the duplicate check."""
        body = await self._search(collection, {"query": query})
        return self._matches(body, collection)

    async def find(self, kind: str, reference: str) -> Created | None:
        """The item of `kind` whose description carries `reference`, if BetaHub has one.

        Feature request and issue search is full-text and fuzzy (it may answer
        with items sharing only part of the reference), so a hit counts only
        when its description contains the reference. Ticket search matches the
        text exactly but answers with ids and titles only, so a ticket hit counts
        as it is.
        """
        collection = COLLECTIONS[kind]
        body = await self._search(collection, {"query": reference})
        for item in _items(body, collection):
            if not isinstance(item, dict) or item.get("id") in (None, ""):
                continue
            text = item.get("description")
            exact = kind == "ticket" and text is None
            if exact or (isinstance(text, str) and reference in text):
                item_id = str(item["id"])
                return Created(item_id, item.get("url") or self._link(collection, item_id))
        return None

    async def _search(self, collection: str, params: dict[str, str]) -> Any:
        response = await self.search_http.request(
            "GET", f"projects/{self.project_id}/{collection}/search.json", params=params
        )
        try:
            return response.json()
        except ValueError:
            return []

    def _matches(self, body: Any, collection: str) -> list[Match]:
        """Accept a list of titles, a list of objects, or `{<collection>: [...]}`."""
        found = []
        for item in _items(body, collection):
            if isinstance(item, str) and item.strip():
                found.append(Match(item.strip(), None))
            elif isinstance(item, dict) and isinstance(item.get("title"), str):
                url = item.get("url") or self._link(
                    collection, item.get("scoped_id") or item.get("id")
                )
                found.append(Match(item["title"].strip(), url))
        return found

    def _link(self, collection: str, item_id: Any) -> str | None:
        if item_id in (None, ""):
            return None
        return f"{self.site}/projects/{self.project_id}/{collection}/{item_id}"

    def _created(self, response: httpx.Response, collection: str) -> Created:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        item_id = str(body.get("id", ""))
        token = body.get("token")
        return Created(
            id=item_id,
            url=body.get("url") or self._link(collection, item_id or None),
            token=token if isinstance(token, str) and token else None,
        )


def _bearer(token: str | None) -> dict[str, str] | None:
    return {"Authorization": f"Bearer {token}"} if token else None
