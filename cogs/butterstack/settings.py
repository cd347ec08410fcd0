"""ButterStack's settings (`BUTTERSTACK_*`)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from bot.config import CommaList, HttpUrl, ServiceSettings

_PROJECT_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


class ButterStackSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUTTERSTACK_")

    url: HttpUrl = "https://api.butterstack.com/v1"
    token: SecretStr
    project_ids: CommaList
    poll_seconds: float = Field(default=15.0, gt=0, le=3600)
    rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)

    @field_validator("project_ids")
    @classmethod
    def _project_ids(cls, ids: list[str]) -> list[str]:
        if not ids:
            raise ValueError("name at least one project id, such as proj_abc123")
        for project_id in ids:
            if not _PROJECT_ID.match(project_id):
                raise ValueError(f"{project_id!r} is not a project id such as proj_abc123")
        return list(dict.fromkeys(ids))
