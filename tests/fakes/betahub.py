"""A fake BetaHub that checks what BetaHub checks and answers in its shapes."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import web

from tests.fakes.server import CALL, FakeServer, json_response

PROJECT_ID = "pr-5287510306"
TOKEN = "pat-fake-betahub-token-123"
PUBLIC = "https://app.betahub.io"


class FakeBetaHub(FakeServer):
    """BetaHub's create and search calls, and its release list.

    `script(...)` queues answers for the next requests: a status code to fail
    with, or `"hang"` to never answer. Normal service resumes after the queue.
    """

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.releases: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._script: list[int | str] = []
        self.retry_after = "1"
        super().__init__()

    def script(self, *answers: int | str) -> None:
        self._script.extend(answers)

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

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/projects/{pid}/feature_requests.json", self._feature_request)
        router.add_get("/projects/{pid}/releases.json", self._releases)

    async def _scripted(self) -> web.Response | None:
        if not self._script:
            return None
        answer = self._script.pop(0)
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
        return json_response({"error": f"Scripted failure {status}", "status": status}, status)

    def _refusal(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization")
        if auth is None:
            return json_response(
                {"error": "You need to sign in or sign up before continuing.", "status": 401}, 401
            )
        if auth not in (f"Bearer {TOKEN}", f"FormUser {TOKEN}"):
            return json_response({"error": "Invalid token", "status": 401}, 401)
        if request.headers.get("BetaHub-Project-ID") != request.match_info["pid"]:
            return json_response({"error": "Project mismatch", "status": 403}, 403)
        if request.match_info["pid"] != PROJECT_ID:
            return json_response({"error": "Project not found", "status": 404}, 404)
        if request.method == "GET":
            return None
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return json_response({"error": "Unsupported content type", "status": 415}, 415)
        return None

    async def _feature_request(self, request: web.Request) -> web.Response:
        if (answer := await self._scripted()) or (answer := self._refusal(request)):
            return answer
        form = request[CALL].form
        description = (form.get("feature_request[description]") or "").strip()
        if not description:
            return json_response({"error": "Description can't be blank", "status": 422}, 422)
        if len(description) < 10:
            return json_response(
                {"error": "Description is too short (minimum is 10 characters)", "status": 422}, 422
            )
        number = next(self._ids)
        record = {key: form.get(key) for key in form}
        self.created.append(record)
        return json_response(
            {
                "id": f"fr-{number}",
                "url": f"{PUBLIC}/projects/{PROJECT_ID}/feature_requests/{number}",
                "token": f"tkn-feature-{number}",
            },
            201,
        )

    async def _releases(self, request: web.Request) -> web.Response:
        if (answer := await self._scripted()) or (answer := self._refusal(request)):
            return answer
        return json_response(self.releases)
