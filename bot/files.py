"""Files users attach to a command, fetched from where their platform serves them.

The declared size is checked before anything is downloaded, and the real size
while streaming (a declared size can lie), so a file over the cap is refused
with a reason the user can act on and never fills memory. `file://` URLs are
the console's local files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from bot.errors import UserError
from bot.models import Attachment
from bot.text import escape

MAX_FILE_BYTES = 25 * 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FileData:
    """A downloaded attachment, ready to upload."""

    filename: str
    content_type: str | None
    data: bytes


def size_label(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


class Downloader:
    def __init__(self, max_bytes: int = MAX_FILE_BYTES, timeout: float = 30.0) -> None:
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch_all(self, attachments: Sequence[Attachment]) -> list[FileData]:
        """Every attachment's bytes; refuses before downloading anything if one is too big."""
        for attachment in attachments:
            if attachment.size > self.max_bytes:
                raise self._too_big(escape(attachment.filename), attachment.size)
        return [await self.fetch(attachment) for attachment in attachments]

    async def fetch(self, attachment: Attachment) -> FileData:
        if attachment.url.startswith("file:"):
            data = self._read_local(attachment)
        else:
            data = await self._download(attachment)
        return FileData(attachment.filename, attachment.content_type, data)

    def _read_local(self, attachment: Attachment) -> bytes:
        path = Path(unquote(urlsplit(attachment.url).path))
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise self._too_big(escape(attachment.filename), size)
            return path.read_bytes()
        except OSError as error:
            raise UserError(
                f"Cannot read {escape(attachment.filename)}: {error.strerror}."
            ) from None

    async def _download(self, attachment: Attachment) -> bytes:
        name = escape(attachment.filename)
        try:
            async with self._client.stream("GET", attachment.url) as response:
                if response.status_code != 200:
                    raise UserError(
                        f"Could not fetch {name} (HTTP {response.status_code}); please attach it"
                        " again."
                    )
                chunks, received = [], 0
                async for chunk in response.aiter_bytes(CHUNK):
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise self._too_big(name, self.max_bytes, at_least=True)
                    chunks.append(chunk)
        except httpx.HTTPError as error:
            raise UserError(
                f"Could not fetch {name} ({type(error).__name__}); please attach it again."
            ) from None
        return b"".join(chunks)

    def _too_big(self, name: str, size: int, *, at_least: bool = False) -> UserError:
        more = "more than " if at_least else ""
        return UserError(
            f"{name} is {more}{size_label(size)}; files can be at most"
            f" {size_label(self.max_bytes)}. Put a link to it in the description instead."
        )
