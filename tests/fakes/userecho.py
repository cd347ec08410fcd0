"""A fake UserEcho (API v2) that checks what UserEcho checks and answers in its shapes.

It creates topics (for /topic) and serves existing topics and users (for the
names and links of forum announcements).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

from aiohttp import web

from tests.fakes.server import CALL, FakeServer, json_response

TOKEN = "ue-fake-access-token-456"
FORUM_ID = 7
SITE = "https://studio.userecho.com"
TYPES = [{"id": 1, "name": "Ideas"}, {"id": 2, "name": "Problems"}, {"id": 3, "name": "Questions"}]
CATEGORIES = [{"id": 11, "name": "Gameplay"}, {"id": 12, "name": "Graphics"}]


def success(data: Any, status: int = 200) -> web.Response:
    return json_response({"status": "success", "data": data}, status)


def error(message: str, status: int) -> web.Response:
    return json_response({"status": "error", "message": message}, status)


class FakeUserEcho(FakeServer):
    """Forum types, categories, SSO users and topic creation under /api/v2.

    `script(...)` queues answers for the next topic creations: a status code,
    `"hang"`, or `"error-200"` (a refusal with HTTP 200, as UserEcho sometimes
    answers). `script_after_create(...)` queues answers given after the topic
    was created (a 502/504, or `"hang"`): it exists, the client does not learn
    it. `script_search(...)` does the same for the next topic searches.
    Topic search is full-text like a forum's: a topic matches when it shares
    a word of three letters or more with the query (header or description,
    case-insensitively), most shared words first. `seed(header)` adds an
    existing topic for it to find; `searched` lists the queries as they
    arrive (a hanging search included). `sso_users` maps SSO guids to user ids.
    """

    def __init__(self) -> None:
        self.topics: list[dict[str, Any]] = []
        self.sso_users: dict[str, int] = {}
        self.known_topics: dict[int, dict[str, Any]] = {
            321: {
                "id": 321,
                "forum_id": 1,
                "header": "Add a photo mode",
                "status": {"id": 1, "name": "New"},
            }
        }
        self.known_users: dict[int, dict[str, Any]] = {78: {"id": 78, "name": "Sam"}}
        self._ids = itertools.count(101)
        self._script: list[int | str] = []
        self._after_create: list[int | str] = []
        self._search_script: list[int | str] = []
        self.searched: list[str] = []  # each search's query, as it arrives
        self.retry_after = "1"
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v2"

    def set_status(self, topic_id: int, name: str) -> None:
        """Move a topic as a forum moderator would."""
        self.known_topics[topic_id]["status"] = {"id": len(name), "name": name}

    def script(self, *answers: int | str) -> None:
        self._script.extend(answers)

    def script_after_create(self, *answers: int | str) -> None:
        self._after_create.extend(answers)

    def script_search(self, *answers: int | str) -> None:
        self._search_script.extend(answers)

    def seed(self, header: str, description: str = "") -> dict[str, Any]:
        """An existing topic on the forum, in the shape UserEcho answers it."""
        topic_id = next(self._ids)
        topic = {
            "id": topic_id,
            "forum_id": FORUM_ID,
            "header": header,
            "description": f"<p>{description or header}</p>",
            "type": TYPES[0],
            "status": {"id": 1, "name": "New"},
            "vote_diff": 3,
            "comment_count": 1,
        }
        self.known_topics[topic_id] = topic
        return topic

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v2/forums/{forum}/types.json", self._types)
        router.add_get("/api/v2/forums/{forum}/categories.json", self._categories)
        router.add_get("/api/v2/users/sso/{guid}.json", self._sso_user)
        router.add_post("/api/v2/forums/{forum}/topics.json", self._create_topic)
        router.add_get("/api/v2/forums/{forum}/topics/search.json", self._search_topics)
        router.add_get("/api/v2/topics/{topic}.json", self._topic)
        router.add_get("/api/v2/users/{user}.json", self._user)

    def _refusal(self, request: web.Request) -> web.Response | None:
        bearer = request.headers.get("Authorization") == f"Bearer {TOKEN}"
        if not bearer and request.query.get("access_token") != TOKEN:
            return error("Invalid access token", 401)
        forum = request.match_info.get("forum")
        if forum is not None and forum != str(FORUM_ID):
            return error("Forum not found", 404)
        return None

    def _found(self, request: web.Request, found: dict[str, Any] | None) -> web.Response:
        if refused := self._refusal(request):
            return refused
        return success(found) if found else error("Not found", 404)

    async def _topic(self, request: web.Request) -> web.Response:
        return self._found(request, self.known_topics.get(int(request.match_info["topic"])))

    async def _user(self, request: web.Request) -> web.Response:
        return self._found(request, self.known_users.get(int(request.match_info["user"])))

    async def _types(self, request: web.Request) -> web.Response:
        return self._refusal(request) or success(TYPES)

    async def _categories(self, request: web.Request) -> web.Response:
        return self._refusal(request) or success(CATEGORIES)

    async def _sso_user(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        user_id = self.sso_users.get(request.match_info["guid"])
        if user_id is None:
            return error("User not found", 404)
        return success({"id": user_id, "name": "Forum member"})

    async def _scripted(self, queue: list[int | str] | None = None) -> web.Response | None:
        queue = self._script if queue is None else queue
        if not queue:
            return None
        answer = queue.pop(0)
        if answer == "hang":
            await asyncio.sleep(3600)
        if answer == "error-200":
            return error("Header is too long", 200)
        status = int(answer)
        if status == 429:
            return json_response(
                {"status": "error", "message": "Too many requests"},
                429,
                {"Retry-After": self.retry_after},
            )
        if status >= 500:
            return web.Response(status=status, text="Bad gateway", content_type="text/html")
        if status == 401:
            return error("Invalid access token", 401)
        return error(f"Scripted failure {status}", status)

    async def _create_topic(self, request: web.Request) -> web.Response:
        if (answer := await self._scripted()) or (answer := self._refusal(request)):
            return answer
        body = request[CALL].json
        if request.content_type != "application/json" or not isinstance(body, dict):
            return error("Expected a JSON body", 400)
        if not str(body.get("header") or "").strip():
            return error("header: This field is required.", 400)
        if body.get("type") not in [t["id"] for t in TYPES]:
            return error("type: Select a valid choice.", 400)
        if "category" in body and body["category"] not in [c["id"] for c in CATEGORIES]:
            return error("category: Select a valid choice.", 400)
        if "user_id" in body and body["user_id"] not in self.sso_users.values():
            return error("user_id: unknown user", 400)
        topic_id = next(self._ids)
        self.topics.append(body)
        topic = {
            "id": topic_id,
            "header": body["header"],
            "description": f"<p>{body.get('description', '')}</p>",
            "forum_id": FORUM_ID,
            "type": next(t for t in TYPES if t["id"] == body["type"]),
            "author_id": body.get("user_id", 1),
            "status": {"id": 1, "name": "New"},
        }
        self.known_topics[topic_id] = topic
        if answer := await self._scripted(self._after_create):
            return answer
        return success(topic, 201)

    async def _search_topics(self, request: web.Request) -> web.Response:
        self.searched.append(request.query.get("query", ""))
        if (answer := await self._scripted(self._search_script)) or (
            answer := self._refusal(request)
        ):
            return answer
        query = request.query.get("query", "")
        if not query.strip():
            return error("query: This field is required.", 400)
        wanted = _words(query)
        ranked = sorted(
            (
                (-len(shared), topic["id"], topic)
                for topic in self.known_topics.values()
                if (shared := wanted & _words(f"{topic['header']} {topic.get('description', '')}"))
            ),
            key=lambda hit: hit[:2],
        )
        return success([topic for _, _, topic in ranked])


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}
