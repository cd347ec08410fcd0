"""A fake BetaHub that checks what BetaHub checks and answers in its shapes."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

from aiohttp import web

from tests.fakes.server import CALL, FakeServer, json_response

PROJECT_ID = "pr-5287510306"
TOKEN = "pat-fake-betahub-token-123"
PROJECT_TOKEN = "tkn-fake-project-token-456"
PUBLIC = "https://app.betahub.io"
PRIORITIES = ("low", "medium", "high", "critical")
# Rails form prefix -> collection in the URL
KINDS = {"feature_request": "feature_requests", "issue": "issues", "ticket": "tickets"}
PREFIXES = {"feature_request": "fr", "issue": "g"}
FIRST_STATUS = {"feature_request": "open", "issue": "new", "ticket": "new"}
ISSUE_STATUSES = ("new", "in_progress", "resolved", "closed")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# Evidence uploads: path under the issue -> (file field, other fields allowed, size cap)
MB = 1024 * 1024
UPLOADS = {
    "screenshots": ("screenshot[image]", set(), 10 * MB),
    "video_clips": ("video_clip[video]", set(), 100 * MB),
    "log_files": ("log_file[file]", {"log_file[name]"}, 25 * MB),
}


class FakeBetaHub(FakeServer):
    """BetaHub's create and search calls, and its release list.

    `script(...)` queues answers for the next create (POST) requests, and
    `script_search(...)` for the next searches: a status code to fail with, or
    `"hang"` to never answer. Normal service resumes after the queue.
    `script_after_create(...)` queues answers given *after* the item was
    created (a proxy's 502/504, or `"hang"` past the client's timeout): the
    item exists, the client just does not learn it.
    `seed(collection, title)` adds an existing item for searches to find.
    `script_upload(kind, ...)` queues answers for the next uploads of one kind
    (`screenshots`, `video_clips`, `log_files`): a status code, 422 with
    BetaHub's error shape. Uploads land in `evidence` as (kind, field, name,
    bytes); a draft (`draft=true`, only with a `FormUser` token) answers with
    a JWT that its uploads and `publish` may use, and is listed in `drafts`
    until published.
    Ticket search, like BetaHub's, matches the query as a substring of title
    or description (ILIKE) and answers with ids and titles only.
    """

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.releases: list[dict[str, Any]] = []
        self.items: dict[str, list[dict[str, Any]]] = {c: [] for c in KINDS.values()}
        self.uploads: list[tuple[str, bytes]] = []
        self.evidence: list[tuple[str, str, str, bytes]] = []
        self.drafts: set[str] = set()
        self.published: list[str] = []
        self.jwt_expired = False  # a draft's JWT lasts an hour
        self._upload_script: dict[str, list[int | str]] = {k: [] for k in UPLOADS}
        self._ids = itertools.count(1)
        self._script: list[int | str] = []
        self._search_script: list[int | str] = []
        self._after_create: list[int | str] = []
        self.create_delay = 0.0  # seconds each create takes, to widen races
        self.retry_after = "1"
        super().__init__()

    def script(self, *answers: int | str) -> None:
        self._script.extend(answers)

    def script_search(self, *answers: int | str) -> None:
        self._search_script.extend(answers)

    def script_after_create(self, *answers: int | str) -> None:
        self._after_create.extend(answers)

    def script_upload(self, kind: str, *answers: int | str) -> None:
        self._upload_script[kind].extend(answers)

    def add_release(
        self, label: str, summary: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Publish a release as BetaHub's dashboard would; it lists after the older ones."""
        number = next(self._ids)
        release = {
            "id": number,
            "label": label,
            "summary": summary,
            "description": description,
            "created_at": f"2026-12-{number % 28 + 1:02d}T10:00:00Z",
            "download_links": [
                {"platform": "windows", "label": "Windows", "url": f"{PUBLIC}/dl/{number}/win"}
            ],
        }
        self.releases.append(release)
        return release

    def seed(self, collection: str, title: str, description: str = "") -> dict[str, Any]:
        number = next(self._ids)
        item = {
            "id": str(number),
            "title": title,
            "description": description or title,
            "url": f"{PUBLIC}/projects/{PROJECT_ID}/{collection}/{number}",
        }
        self.items[collection].append(item)
        return item

    def created_in(self, collection: str) -> list[dict[str, Any]]:
        return [c for c in self.created if c["_collection"] == collection]

    def routes(self, router: web.UrlDispatcher) -> None:
        for kind, collection in KINDS.items():
            router.add_post(f"/projects/{{pid}}/{collection}.json", self._creator(kind, collection))
        for collection in ("feature_requests", "issues"):
            router.add_get(
                f"/projects/{{pid}}/{collection}/search.json", self._searcher(collection)
            )
        router.add_get("/projects/{pid}/tickets/search.json", self._search_tickets)
        router.add_get("/projects/{pid}/releases.json", self._releases)
        router.add_get("/projects/{pid}/issues.json", self._list_issues)
        router.add_get("/projects/{pid}/tickets/{id}.json", self._ticket)
        for kind in UPLOADS:
            router.add_post(f"/projects/{{pid}}/issues/{{issue}}/{kind}.json", self._uploader(kind))
        router.add_post("/projects/{pid}/issues/{issue}/publish.json", self._publish)

    async def _scripted(self, queue: list[int | str]) -> web.Response | None:
        if not queue:
            return None
        answer = queue.pop(0)
        if answer == "hang":
            await asyncio.sleep(3600)
        status = int(answer)
        if status == 429:
            return json_response(
                {"error": "Rate limit exceeded", "status": 429},
                429,
                {"Retry-After": self.retry_after},
            )
        if status >= 500:
            return web.Response(
                status=status, text="<html>Internal Server Error</html>", content_type="text/html"
            )
        if status == 401:
            return json_response({"error": "Invalid token", "status": 401}, 401)
        return json_response({"error": f"Scripted failure {status}", "status": status}, status)

    def _refusal(
        self, request: web.Request, content_types: tuple[str, ...] = FORMS
    ) -> web.Response | None:
        auth = request.headers.get("Authorization")
        if auth is None:
            return json_response(
                {"error": "You need to sign in or sign up before continuing.", "status": 401}, 401
            )
        if auth not in (f"Bearer {TOKEN}", f"FormUser {TOKEN}", f"FormUser {PROJECT_TOKEN}"):
            return json_response({"error": "Invalid token", "status": 401}, 401)
        if request.headers.get("BetaHub-Project-ID") != request.match_info["pid"]:
            return json_response({"error": "Project mismatch", "status": 403}, 403)
        if request.match_info["pid"] != PROJECT_ID:
            return json_response({"error": "Project not found", "status": 404}, 404)
        if request.method == "POST" and request.content_type not in content_types:
            return json_response({"error": "Unsupported content type", "status": 415}, 415)
        return None

    def _issue_refusal(
        self, request: web.Request, content_types: tuple[str, ...] = FORMS
    ) -> web.Response | None:
        """A draft's JWT stands for Herald's token on that draft's own calls."""
        issue = request.match_info["issue"]
        if not issue.startswith("g-"):
            return json_response({"error": "Issue ids take the g- prefix", "status": 404}, 404)
        auth = request.headers.get("Authorization", "")
        if auth == f"Bearer jwt-{issue.removeprefix('g-')}":
            if self.jwt_expired:
                return json_response({"error": "Token has expired", "status": 401}, 401)
            return None
        return self._refusal(request, content_types)

    def _uploader(self, kind: str) -> Any:
        field_name, others, cap = UPLOADS[kind]

        async def upload(request: web.Request) -> web.Response:
            if answer := self._issue_refusal(request):
                return answer
            if answer := await self._scripted(self._upload_script[kind]):
                return answer
            call = request[CALL]
            if request.content_type != "multipart/form-data" or set(call.files) != {field_name}:
                return json_response({"error": f"{field_name} is missing", "status": 422}, 422)
            if set(call.form) - others:
                return json_response({"error": f"Unknown fields {sorted(call.form)}"}, 422)
            ((name, data),) = call.files[field_name]
            if len(data) > cap:
                return json_response({"error": "File is too large", "status": 422}, 422)
            shown = call.form.get("log_file[name]", name)
            self.evidence.append((kind, field_name, shown, data))
            return json_response({"id": len(self.evidence), "status": "ok"}, 201)

        return upload

    async def _publish(self, request: web.Request) -> web.Response:
        if answer := self._issue_refusal(request, ("application/json",)):
            return answer
        issue = request.match_info["issue"]
        self.drafts.discard(issue)
        self.published.append(issue)
        return json_response({"email_my_report": False})

    def _creator(self, kind: str, collection: str) -> Any:
        async def create(request: web.Request) -> web.Response:
            if (answer := await self._scripted(self._script)) or (answer := self._refusal(request)):
                return answer
            await asyncio.sleep(self.create_delay)
            call = request[CALL]
            form = call.form
            description = (form.get(f"{kind}[description]") or "").strip()
            if not description:
                return json_response({"error": "Description can't be blank", "status": 422}, 422)
            if len(description) < 10:
                return json_response(
                    {"error": "Description is too short (minimum is 10 characters)", "status": 422},
                    422,
                )
            priority = form.get(f"{kind}[priority]")
            if priority is not None and priority not in PRIORITIES:
                return json_response({"error": "Priority is not included in the list"}, 422)
            files = call.files.get(f"{kind}[attachments][]", [])
            if set(call.files) - {f"{kind}[attachments][]"}:
                return json_response({"error": f"Unknown file field {sorted(call.files)}"}, 422)
            self.uploads.extend(files)
            number = next(self._ids)
            record = {key: form.get(key) for key in form}
            record["_collection"] = collection
            record["_files"] = files
            self.created.append(record)
            title = form.get(f"{kind}[title]") or description[:40]
            url = f"{PUBLIC}/projects/{PROJECT_ID}/{collection}/{number}"
            self.items[collection].append(
                {
                    "id": str(number),
                    "title": title,
                    "description": description,
                    "url": url,
                    "status": FIRST_STATUS[kind],
                    "priority": priority or "low",
                }
            )
            if answer := await self._scripted(self._after_create):
                return answer
            token = f"tkn-{kind}-{number}"
            if kind == "issue" and form.get("draft") == "true":
                if not request.headers["Authorization"].startswith("FormUser "):
                    return json_response({"error": "Drafts need a FormUser token"}, 422)
                token = f"jwt-{number}"
                self.drafts.add(f"g-{number}")
            if kind == "ticket":
                # Tickets answer with the ticket itself, which carries no URL.
                return json_response(
                    {"id": str(number), "title": title, "status": "new", "priority": priority},
                    201,
                )
            return json_response(
                {"id": f"{PREFIXES[kind]}-{number}", "url": url, "token": token},
                201,
            )

        return create

    def set_status(self, collection: str, number: int | str, status: str) -> None:
        """Move an item as BetaHub's dashboard would (`number`: its id, prefix or not)."""
        item = self._item(collection, str(number))
        assert item is not None, f"no {collection} {number}"
        item["status"] = status

    def _item(self, collection: str, wanted: str) -> dict[str, Any] | None:
        number = wanted.rsplit("-", 1)[-1]
        return next((i for i in self.items[collection] if i["id"] == number), None)

    async def _list_issues(self, request: web.Request) -> web.Response:
        """Issues, `per_page` (at most 100) a page, optionally of one `status`."""
        if answer := self._refusal(request):
            return answer
        status = request.query.get("status")
        if status is not None and status not in ISSUE_STATUSES:
            return json_response({"error": f"Invalid status {status}", "status": 400}, 400)
        per_page = int(request.query.get("per_page", "20"))
        page = int(request.query.get("page", "1"))
        if not 1 <= per_page <= 100 or page < 1:
            return json_response({"error": "Invalid pagination", "status": 400}, 400)
        listed = [
            {k: v for k, v in item.items() if k != "url"}  # the list names issues by id only
            for item in self.items["issues"]
            if status is None or item.get("status") == status
        ]
        pages = max(1, -(-len(listed) // per_page))
        return json_response(
            {
                "issues": listed[(page - 1) * per_page : page * per_page],
                "pagination": {
                    "current_page": page,
                    "total_pages": pages,
                    "total_count": len(listed),
                    "per_page": per_page,
                },
            }
        )

    async def _ticket(self, request: web.Request) -> web.Response:
        """ "Get support ticket details"."""
        if answer := self._refusal(request):
            return answer
        ticket = self._item("tickets", request.match_info["id"])
        if ticket is None:
            return json_response({"error": "Not found", "status": 404}, 404)
        return json_response(
            {
                **{k: ticket[k] for k in ("id", "title", "description", "status", "priority")},
                "created_at": "2026-12-01T10:00:00Z",
                "updated_at": "2026-12-01T10:30:00Z",
                "reporter": {"id": "u-1", "name": "ada"},
                "assigned_to": None,
                "attachments": [],
            }
        )

    def _searcher(self, collection: str) -> Any:
        async def search(request: web.Request) -> web.Response:
            if (answer := await self._scripted(self._search_script)) or (
                answer := self._refusal(request)
            ):
                return answer
            if scoped := request.query.get("scoped_id"):
                item = self._item(collection, scoped)
                return json_response({collection: [item] if item else []})
            query = request.query.get("query", "")
            if not query.strip():
                return json_response({"error": "param is missing: query", "status": 400}, 400)
            words = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 2}
            found = [
                item
                for item in self.items[collection]
                if words & set(re.findall(r"\w+", f"{item['title']} {item['description']}".lower()))
            ]
            if request.query.get("partial") == "true":
                return json_response([item["title"] for item in found[:4]])
            return json_response(
                {
                    collection: found[:25],
                    "pagination": {
                        "current_page": 1,
                        "total_pages": 1,
                        "total_count": len(found),
                        "per_page": 25,
                    },
                }
            )

        return search

    async def _search_tickets(self, request: web.Request) -> web.Response:
        if (answer := await self._scripted(self._search_script)) or (
            answer := self._refusal(request)
        ):
            return answer
        query = request.query.get("query", "").strip().lower()
        if not query:
            return json_response({"error": "param is missing: query", "status": 400}, 400)
        found = [
            {"id": item["id"], "title": item["title"]}
            for item in self.items["tickets"]
            if query in f"{item['title']}\n{item['description']}".lower()
        ]
        return json_response(found[:10])

    async def _releases(self, request: web.Request) -> web.Response:
        if answer := self._refusal(request):
            return answer
        return json_response(self.releases)
