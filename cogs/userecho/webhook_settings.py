"""Settings for UserEcho's webhook events (`USERECHO_*`).

Only the webhook key is required. With `USERECHO_URL` and `USERECHO_TOKEN`
(shared with the /topic cog), cards link to topics and name authors the
webhook body leaves out.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.config import HttpUrl, ServiceSettings, WebhookSecret


class UserEchoWebhookSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="USERECHO_")

    webhook_key: WebhookSecret
    url: HttpUrl | None = None
    token: SecretStr | None = None
    timeout_seconds: float = 5.0

    @property
    def site(self) -> str | None:
        """The forum's public address, from the API URL (`https://x.userecho.com`)."""
        if self.url is None:
            return None
        return self.url.split("/api/", 1)[0]
