"""BugHerd's REST API, for project names and task details webhook bodies lack (optional)."""

from __future__ import annotations

from typing import Any

from bot.cache import Lookups
from bot.http import ServiceClient


class BugHerdClient:
    """Cached look-ups; every method answers None when the API cannot say."""

    def __init__(self, http: ServiceClient | None) -> None:
        self.http = http
        self._projects: Lookups[str] = Lookups(ttl=3600.0)
        self._tasks: Lookups[dict[str, Any]] = Lookups(ttl=120.0)

    async def project_name(self, project: str) -> str | None:
        async def load() -> str | None:
            body = await self._get(f"projects/{project}.json")
            name = (body or {}).get("project", {}).get("name")
            return name if isinstance(name, str) and name.strip() else None

        return await self._projects.get(project, load)

    async def task(self, project: str, task: str) -> dict[str, Any] | None:
        async def load() -> dict[str, Any] | None:
            body = await self._get(f"projects/{project}/tasks/{task}.json")
            found = (body or {}).get("task")
            return found if isinstance(found, dict) else None

        return await self._tasks.get(f"{project}:{task}", load)

    async def _get(self, path: str) -> dict[str, Any] | None:
        return await self.http.json_object(path) if self.http else None
