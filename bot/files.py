"""Files users attach to a command, fetched from where their platform serves them.

The declared size is checked before anything is downloaded, and the real size
while streaming (a declared size can lie), so a file over the cap is refused
with a reason the user can act on and never fills memory. A redirect is
followed only to the platforms' file hosts, so a link cannot make Herald
fetch from anywhere else (an internal address, say). `file://` URLs are the
console's local files, and read only for the console.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from bot.errors import UserError
from bot.i18n import N_, _
from bot.models import Attachment
from bot.text import escape

MAX_FILE_BYTES = 25 * 1024 * 1024
CHUNK = 64 * 1024
CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net", "files.slack.com"})
"""Where Discord and Slack serve attachments: the only hosts a redirect may lead to."""
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class FileData:
    """A downloaded attachment, ready to upload."""

    filename: str
    content_type: str | None
    data: bytes


FILES = N_("files")


def size_label(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


class Downloader:
    def __init__(
        self,
        max_bytes: int = MAX_FILE_BYTES,
        timeout: float = 30.0,
        cdn_hosts: Iterable[str] = CDN_HOSTS,
    ) -> None:
        self.max_bytes = max_bytes
        self.cdn_hosts = frozenset(h.lower() for h in cdn_hosts)
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch_all(self, attachments: Sequence[Attachment]) -> list[FileData]:
        """Every attachment's bytes; refuses before downloading anything if one is too big."""
        for attachment in attachments:
            self.check(attachment)
        return [await self.fetch(attachment) for attachment in attachments]

    def check(self, attachment: Attachment, limit: int | None = None, noun: str = FILES) -> None:
        """Refuse, before any download, a file whose declared size is over `limit`."""
        limit = limit or self.max_bytes
        if attachment.size > limit:
            raise _too_big(escape(attachment.filename), attachment.size, limit, noun)

    async def fetch(
        self, attachment: Attachment, limit: int | None = None, noun: str = FILES
    ) -> FileData:
        """The file's bytes, at most `limit` of them (`noun` names such files in a refusal)."""
        cap = _Cap(limit or self.max_bytes, noun)
        self.check(attachment, cap.limit, noun)
        scheme = urlsplit(attachment.url).scheme.lower()
        if scheme == "file" and attachment.local:
            data = self._read_local(attachment, cap)
        elif scheme in ("http", "https"):
            data = await self._download(attachment, cap)
        else:
            raise UserError(
                _(
                    "Cannot fetch {name} from where it is; please attach it again.",
                    name=escape(attachment.filename),
                )
            )
        return FileData(attachment.filename, attachment.content_type, data)

    def _read_local(self, attachment: Attachment, cap: _Cap) -> bytes:
        path = Path(unquote(urlsplit(attachment.url).path))
        try:
            size = path.stat().st_size
            if size > cap.limit:
                raise _too_big(escape(attachment.filename), size, cap.limit, cap.noun)
            return path.read_bytes()
        except OSError as error:
            raise UserError(
                _(
                    "Cannot read {name}: {reason}.",
                    name=escape(attachment.filename),
                    reason=error.strerror,
                )
            ) from None

    async def _download(self, attachment: Attachment, cap: _Cap) -> bytes:
        name = escape(attachment.filename)
        url = attachment.url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                headers = self._auth(attachment, url)
                async with self._client.stream("GET", url, headers=headers) as response:
                    if not response.is_redirect:
                        return await self._read(name, response, cap)
                    url = self._redirect(name, url, response.headers.get("Location", ""))
        except httpx.HTTPError as error:
            raise UserError(
                _(
                    "Could not fetch {name} ({reason}); please attach it again.",
                    name=name,
                    reason=type(error).__name__,
                )
            ) from None
        raise UserError(
            _("Could not fetch {name} (too many redirects); please attach it again.", name=name)
        )

    @staticmethod
    def _auth(attachment: Attachment, url: str) -> dict[str, str]:
        """The platform's credentials, for the host its adapter named only: never
        sent along a redirect to another host."""
        if attachment.auth is None:
            return {}
        same = urlsplit(url).netloc.lower() == urlsplit(attachment.url).netloc.lower()
        return {"Authorization": attachment.auth} if same else {}

    def _redirect(self, name: str, url: str, location: str) -> str:
        """Where a redirect leads, when that is a platform's file host; else a refusal."""
        target = urljoin(url, location)
        parts = urlsplit(target)
        scheme_ok = parts.scheme == "https" or parts.scheme == urlsplit(url).scheme == "http"
        if not (scheme_ok and (parts.hostname or "").lower() in self.cdn_hosts):
            raise UserError(
                _(
                    "Could not fetch {name}: it was moved somewhere Herald does not fetch from;"
                    " please attach it again.",
                    name=name,
                )
            )
        return target

    async def _read(self, name: str, response: httpx.Response, cap: _Cap) -> bytes:
        if response.status_code != 200:
            raise UserError(
                _(
                    "Could not fetch {name} (HTTP {status}); please attach it again.",
                    name=name,
                    status=response.status_code,
                )
            )
        chunks, received = [], 0
        async for chunk in response.aiter_bytes(CHUNK):
            received += len(chunk)
            if received > cap.limit:
                raise _too_big(name, cap.limit, cap.limit, cap.noun, at_least=True)
            chunks.append(chunk)
        return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Cap:
    limit: int
    noun: str


def _too_big(name: str, size: int, limit: int, noun: str, *, at_least: bool = False) -> UserError:
    """`noun` (English, marked with `N_`) names such files; it is translated here."""
    said = {"name": name, "size": size_label(size), "noun": _(noun), "limit": size_label(limit)}
    if at_least:
        return UserError(
            _(
                "{name} is more than {size}; {noun} can be at most {limit}."
                " Put a link to it in the description instead.",
                **said,
            )
        )
    return UserError(
        _(
            "{name} is {size}; {noun} can be at most {limit}."
            " Put a link to it in the description instead.",
            **said,
        )
    )
