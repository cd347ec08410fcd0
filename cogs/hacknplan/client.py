"""HacknPlan's REST API, for the names and titles webhook bodies lack (optional)."""

from __future__ import annotations

from typing import Any

from bot.cache import Lookups
from bot.http import ServiceClient


class HacknPlanClient:
    """Cached look-ups; every method answers None when the API cannot say."""

    def __init__(self, http: ServiceClient | None) -> None:
        self.http = http
        self._work_items: Lookups[dict[str, Any]] = Lookups(ttl=120.0)
        self._projects: Lookups[str] = Lookups(ttl=3600.0)

    async def work_item(self, project: str, number: str) -> dict[str, Any] | None:
        async def load() -> dict[str, Any] | None:
            return await self._get(f"projects/{project}/workitems/{number}")

        return await self._work_items.get(f"{project}:{number}", load)

    async def project_name(self, project: str) -> str | None:
        async def load() -> str | None:
            body = await self._get(f"projects/{project}")
            name = body.get("name") if body else None
            return name if isinstance(name, str) and name.strip() else None

        return await self._projects.get(project, load)

    async def _get(self, path: str) -> dict[str, Any] | None:
        return await self.http.json_object(path) if self.http else None
