"""The attachment downloader: redirects only to the platforms' file hosts, local files
only for the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.errors import UserError
from bot.files import CDN_HOSTS, Downloader
from bot.models import Attachment
from tests.fakes.server import FakeServer

DATA = b"\x89PNG screenshot bytes"


class FakeFiles(FakeServer):
    """A file host: `/file` serves bytes, `/moved?to=<url>` redirects there."""

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/file", self._file)
        router.add_get("/moved", self._moved)

    async def _file(self, _: web.Request) -> web.Response:
        return web.Response(body=DATA, content_type="image/png")

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])


@pytest.fixture
async def files() -> AsyncIterator[FakeFiles]:
    async with FakeFiles() as fake:
        yield fake


@pytest.fixture
async def downloader() -> AsyncIterator[Downloader]:
    downloader = Downloader(cdn_hosts={"127.0.0.1"})
    yield downloader
    await downloader.close()


def attachment(url: str, *, local: bool = False) -> Attachment:
    return Attachment("shot.png", url, len(DATA), "image/png", local=local)


async def test_a_redirect_to_a_platform_file_host_is_followed(files, downloader):
    moved = f"{files.url}/moved?to={files.url}/file"
    assert (await downloader.fetch(attachment(moved))).data == DATA


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/admin",
        "https://cdn.discordapp.com.evil.example/x.png",
        "file:///etc/passwd",
    ],
)
async def test_a_redirect_anywhere_else_is_refused_without_a_request(files, downloader, target):
    with pytest.raises(UserError, match="moved somewhere Herald does not fetch from"):
        await downloader.fetch(attachment(f"{files.url}/moved?to={target}"))
    assert [c.path for c in files.calls] == ["/moved"]


def test_the_platforms_file_hosts_are_the_default():
    assert {"cdn.discordapp.com", "media.discordapp.net", "files.slack.com"} <= CDN_HOSTS
    assert Downloader().cdn_hosts == CDN_HOSTS


async def test_a_local_file_is_read_only_for_the_console(tmp_path: Path, downloader):
    path = tmp_path / "shot.png"
    path.write_bytes(DATA)
    console = await downloader.fetch(attachment(path.as_uri(), local=True))
    assert console.data == DATA
    with pytest.raises(UserError, match=r"Cannot fetch shot\.png from where it is"):
        await downloader.fetch(attachment(path.as_uri()))


async def test_a_platform_token_goes_to_the_host_its_adapter_named_only(files, downloader):
    async with FakeFiles() as elsewhere:
        url = f"{files.url}/moved?to={elsewhere.url}/file"
        shared = Attachment("shot.png", url, len(DATA), "image/png", auth="Bearer xoxb-secret")
        assert (await downloader.fetch(shared)).data == DATA
        assert "xoxb" not in repr(shared)
        (followed,) = elsewhere.calls
    (first,) = files.calls
    assert first.headers.get("Authorization") == "Bearer xoxb-secret"
    assert "Authorization" not in followed.headers, "not sent along a redirect"


async def test_a_per_kind_limit_names_the_kind(downloader):
    big = Attachment("clip.mp4", "https://cdn.discordapp.com/x/clip.mp4", 101 * 1024 * 1024)
    with pytest.raises(UserError, match=r"clip.mp4 is 101.0 MB; videos can be at most 100.0 MB"):
        await downloader.fetch(big, 100 * 1024 * 1024, "videos")
