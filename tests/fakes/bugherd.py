"""A fake BugHerd API v2 (HTTP Basic: API key as user, `x` as password) for look-ups."""

from __future__ import annotations

import base64

from aiohttp import web

from tests.fakes.server import FakeServer, json_response

API_KEY = "bh-api-key-321"


class FakeBugHerd(FakeServer):
    def __init__(self) -> None:
        self.projects = {9012: {"id": 9012, "name": "Skyward website", "is_active": True}}
        self.tasks = {
            (9012, 1234567): {
                "id": 1234567,
                "local_task_id": 58,
                "project_id": 9012,
                "description": "Signup button overlaps the footer on mobile",
                "status": "doing",
                "priority": "important",
                "tag_names": ["ui", "mobile"],
                "admin_link": "https://www.bugherd.com/projects/9012/tasks/58",
            }
        }
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api_v2/projects/{project}.json", self._project)
        router.add_get("/api_v2/projects/{project}/tasks/{task}.json", self._task)

    @property
    def url(self) -> str:
        return f"{super().url}/api_v2"

    def _refusal(self, request: web.Request) -> web.Response | None:
        expected = "Basic " + base64.b64encode(f"{API_KEY}:x".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return json_response({"error": "Access denied"}, 401)
        return None

    async def _project(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        project = self.projects.get(int(request.match_info["project"]))
        if project is None:
            return json_response({"error": "Not found"}, 404)
        return json_response({"project": project})

    async def _task(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        key = (int(request.match_info["project"]), int(request.match_info["task"]))
        task = self.tasks.get(key)
        if task is None:
            return json_response({"error": "Not found"}, 404)
        return json_response({"task": task})
