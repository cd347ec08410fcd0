"""A fake HacknPlan REST API (camelCase, `Authorization: ApiKey …`) for name look-ups."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tests.fakes.server import FakeServer, json_response

API_KEY = "hp-api-key-0123"


class FakeHacknPlan(FakeServer):
    def __init__(self) -> None:
        self.work_items = {
            (128, 42): {
                "projectId": 128,
                "workItemId": 42,
                "title": "Double jump feels floaty",
                "category": {"categoryId": 2, "name": "Programming"},
                "stage": {"stageId": 2, "name": "In progress"},
                "board": {"boardId": 7, "name": "Sprint 4"},
                "assignedUsers": [{"user": {"id": 5, "username": "ada"}}],
                "tags": [{"tagId": 1, "name": "gameplay"}],
            }
        }
        self.projects = {128: {"id": 128, "name": "Skyward", "workspaceId": 1}}
        self.answering = asyncio.Event()
        """Cleared, every request hangs until it is set again (an API that stopped answering)."""
        self.answering.set()
        self.held = 0
        """Requests that have waited for `answering`."""
        super().__init__()

    async def stop(self) -> None:
        self.answering.set()
        await super().stop()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v0/projects/{project}", self._project)
        router.add_get("/v0/projects/{project}/workitems/{item}", self._work_item)

    @property
    def url(self) -> str:
        return f"{super().url}/v0"

    async def _refusal(self, request: web.Request) -> web.Response | None:
        if not self.answering.is_set():
            self.held += 1
            await self.answering.wait()
        if request.headers.get("Authorization") != f"ApiKey {API_KEY}":
            return web.Response(status=401)
        return None

    async def _project(self, request: web.Request) -> web.Response:
        if refused := await self._refusal(request):
            return refused
        project = self.projects.get(int(request.match_info["project"]))
        return json_response(project) if project else web.Response(status=404)

    async def _work_item(self, request: web.Request) -> web.Response:
        if refused := await self._refusal(request):
            return refused
        key = (int(request.match_info["project"]), int(request.match_info["item"]))
        item = self.work_items.get(key)
        return json_response(item) if item else web.Response(status=404)
