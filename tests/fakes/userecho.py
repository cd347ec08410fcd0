"""A fake UserEcho API v2: answers wrapped in `{"status", "data"}`, token as Bearer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, json_response

TOKEN = "ue-api-token-555"


class FakeUserEcho(FakeServer):
    def __init__(self) -> None:
        self.topics = {
            321: {
                "id": 321,
                "forum_id": 1,
                "header": "Add a photo mode",
                "status": {"id": 1, "name": "New"},
            }
        }
        self.users = {78: {"id": 78, "name": "Sam"}}
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v2/topics/{topic}.json", self._topic)
        router.add_get("/api/v2/users/{user}.json", self._user)

    @property
    def url(self) -> str:
        return f"{super().url}/api/v2"

    def _answer(self, request: web.Request, found: dict[str, Any] | None) -> web.Response:
        auth = request.headers.get("Authorization")
        if auth != f"Bearer {TOKEN}" and request.query.get("access_token") != TOKEN:
            return json_response({"status": "error", "message": "Invalid token"}, 401)
        if found is None:
            return json_response({"status": "error", "message": "Not found"}, 404)
        return json_response({"status": "success", "data": found})

    async def _topic(self, request: web.Request) -> web.Response:
        return self._answer(request, self.topics.get(int(request.match_info["topic"])))

    async def _user(self, request: web.Request) -> web.Response:
        return self._answer(request, self.users.get(int(request.match_info["user"])))
