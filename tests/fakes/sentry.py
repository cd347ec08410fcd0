"""A fake Sentry ingestion server: takes the envelopes sentry-sdk posts to
`/api/<project>/envelope/` (gzip or plain) and keeps the events in them."""

from __future__ import annotations

import gzip
import json
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, json_response

PROJECT = "1"
KEY = "0123456789abcdef0123456789abcdef"


class FakeSentry(FakeServer):
    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/{project}/envelope/", self._envelope)

    @property
    def dsn(self) -> str:
        return f"http://{KEY}@127.0.0.1:{self.port}/{PROJECT}"

    def items(self, kind: str) -> list[dict[str, Any]]:
        """The payloads of every item of `kind` (`event`, `session`...) received so far."""
        envelopes = self.find("POST", "/envelope/")
        return [payload for call in envelopes for payload in _items(call.body, kind)]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.items("event")

    async def _envelope(self, request: web.Request) -> web.Response:
        if request.match_info["project"] != PROJECT:
            return json_response({"detail": "unknown project"}, 404)
        auth = request.headers.get("X-Sentry-Auth", "")
        if f"sentry_key={KEY}" not in auth:
            return json_response({"detail": "missing authorization information"}, 401)
        return json_response({})


def _items(body: bytes, kind: str) -> list[dict[str, Any]]:
    """An envelope's items of `kind`: a header line, then per item a header line and a
    payload of its `length` in bytes (or up to the next newline)."""
    data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    _, _, rest = data.partition(b"\n")
    found = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        if header.get("type") == kind:
            found.append(json.loads(payload))
    return found
