"""BugHerd's settings (`BUGHERD_*`)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.config import HttpUrl, ServiceSettings, WebhookSecret


class BugHerdSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUGHERD_")

    webhook_secret: WebhookSecret
    api_key: SecretStr | None = None
    url: HttpUrl = "https://www.bugherd.com/api_v2"
    timeout_seconds: float = 5.0
