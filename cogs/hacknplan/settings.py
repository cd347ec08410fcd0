"""HacknPlan's settings (`HACKNPLAN_*`)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.config import HttpUrl, ServiceSettings, WebhookSecret


class HacknPlanSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HACKNPLAN_")

    webhook_secret: WebhookSecret
    api_key: SecretStr | None = None
    url: HttpUrl = "https://api.hacknplan.com/v0"
    app_url: HttpUrl = "https://app.hacknplan.com"
    timeout_seconds: float = 5.0
