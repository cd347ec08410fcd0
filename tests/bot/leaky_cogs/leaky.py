"""A cog whose command fails unexpectedly, its API key in the log line before and in the
error, as a careless HTTP client's message would put it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.cog import Cog
from bot.commands import command
from bot.config import ServiceSettings
from bot.models import Invocation, Reply

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)


class LeakySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEAKY_")

    api_key: SecretStr


class Leaky(Cog):
    name = "leaky"

    def __init__(self, settings: LeakySettings) -> None:
        self.key = settings.api_key.get_secret_value()

    @command("fetch", "Fail with the key in the error")
    async def fetch(self, ctx: Invocation) -> Reply:
        log.warning("GET https://leaky.example/items?key=%s is slow", quote(self.key, safe=""))
        raise RuntimeError(f"https://leaky.example/items?key={self.key} answered 500")


async def setup(core: Core) -> None:
    await core.add_cog(Leaky(core.service_settings(LeakySettings)))
