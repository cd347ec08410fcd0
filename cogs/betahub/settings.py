"""BetaHub's settings (`BETAHUB_*`)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from bot.config import HttpUrl, ServiceSettings

_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class BetaHubSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BETAHUB_")

    url: HttpUrl = "https://app.betahub.io"
    token: SecretStr
    project_id: str
    releases_poll_seconds: float = Field(default=300.0, ge=0, le=86400)
    followup_poll_seconds: float = Field(default=600.0, ge=0, le=86400)

    @field_validator("token")
    @classmethod
    def _known_token_kind(cls, token: SecretStr) -> SecretStr:
        if not token.get_secret_value().startswith(("pat-", "tkn-")):
            raise ValueError("must be a personal access token (pat-…) or a project token (tkn-…)")
        return token

    @field_validator("project_id")
    @classmethod
    def _plain_id(cls, project_id: str) -> str:
        if not _PROJECT_ID.match(project_id):
            raise ValueError(f"must be a project id such as pr-5287510306, got {project_id!r}")
        return project_id

    @property
    def authorization(self) -> str:
        """`Bearer pat-…` for personal access tokens, `FormUser tkn-…` for project tokens."""
        token = self.token.get_secret_value()
        return f"Bearer {token}" if token.startswith("pat-") else f"FormUser {token}"
