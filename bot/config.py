"""Settings, read from the environment and `.env`.

The core's own settings live here; each cog declares its service's settings as
a `ServiceSettings` subclass with its own prefix, so the core never names a
service. `load_settings` turns pydantic's errors into one line a person can act
on: which variable, and what is wrong with it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.i18n import LANGUAGES, SOURCE, resolve

DEFAULT_ENV_FILE = ".env"
MIN_SECRET_LENGTH = 16


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _ws_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"must be a ws:// or wss:// URL, got {value!r}")
    return value


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _snowflakes(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not str(value).isdigit():
            raise ValueError(f"{value!r} is not a Discord id (digits only, comma-separated)")
        ids.append(int(value))
    return ids


def _distinct(values: list[int]) -> list[int]:
    if twice := sorted({v for v in values if values.count(v) > 1}):
        raise ValueError(f"each shard once, got {', '.join(map(str, twice))} more than once")
    return values


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"must be one of DEBUG, INFO, WARNING, ERROR, got {value!r}")
    return level


def _shipped_language(value: str) -> str:
    """The shipped language a tag names (any spelling `bot.i18n.resolve` takes)."""
    language = resolve(value)
    english = re.split(r"[-_.@]", value.strip())[0].lower() == SOURCE
    if language == SOURCE and not english:
        shipped = ", ".join(LANGUAGES)
        raise ValueError(f"must be one of the shipped languages ({shipped}), got {value!r}")
    return language


def _environment_language() -> str:
    """The language of the environment's locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, the
    first set), when Herald ships it; English otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(name):
            return resolve(value)
    return SOURCE


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _long_secret(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"must be at least {MIN_SECRET_LENGTH} characters; choose a long random secret"
            """ (python3 -c "import secrets; print(secrets.token_urlsafe(32))")"""
        )
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
WsUrl = Annotated[str, AfterValidator(_ws_url)]
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)]
SnowflakeList = Annotated[CommaList, AfterValidator(_snowflakes)]
ShardIdList = Annotated[
    list[Annotated[int, Field(ge=0)]],
    NoDecode,
    BeforeValidator(_comma_separated),
    AfterValidator(_distinct),
]
WebhookSecret = Annotated[SecretStr, AfterValidator(_long_secret)]
"""A secret a webhook sender proves itself with: at least 16 characters, or start-up stops."""


class SettingsError(Exception):
    """A setting has a value Herald cannot start with; the message names it."""


class NotConfigured(Exception):
    """A service's required settings are absent, so its cog stays unloaded."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class BaseHeraldSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )


class ServiceSettings(BaseHeraldSettings):
    """Base for a service's settings: subclasses set `env_prefix` and their fields."""

    timeout_seconds: float = Field(default=15.0, gt=0, le=300)

    def secrets(self) -> list[str]:
        """The secret values in these settings, for log redaction."""
        return [value.get_secret_value() for value in self.__dict__.values() if _is_secret(value)]


class Settings(BaseHeraldSettings):
    """The core's settings: platforms, the HTTP server, storage and logging."""

    discord_token: SecretStr | None = None
    discord_api_base: HttpUrl = "https://discord.com/api/v10"
    discord_gateway_url: WsUrl | None = None
    discord_guild_ids: SnowflakeList = Field(default_factory=list)
    discord_shard_count: int | None = Field(default=None, ge=1)
    discord_shard_ids: ShardIdList = Field(default_factory=list)
    discord_sync_commands: Annotated[
        Literal["auto", "always", "never"], BeforeValidator(_lower)
    ] = "auto"

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: HttpUrl = "https://slack.com/api"
    slack_admin_group_ids: CommaList = Field(default_factory=list)

    http_host: str = "0.0.0.0"  # noqa: S104 - a container's server listens on every interface
    http_port: int = Field(default=8080, ge=0, le=65535)
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_max_concurrent_reads: int = Field(default=32, ge=1, le=10_000)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)
    metrics_token: SecretStr | None = None
    database_url: str = "sqlite:///data/herald.db"
    # PostgreSQL: how long a process's hold on a channel's deliveries or a job lasts
    # unless renewed, so how soon another process takes over from one that died.
    herald_lease_seconds: float = Field(default=15.0, ge=1, le=600)
    log_level: Annotated[str, AfterValidator(_log_level)] = "INFO"
    log_format: Annotated[Literal["text", "json"], BeforeValidator(_lower)] = "text"
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = None
    enrich_budget_seconds: float = Field(default=2.0, gt=0, le=60)
    herald_language: Annotated[str, AfterValidator(_shipped_language)] = Field(
        default_factory=_environment_language
    )

    delivery_max_age_hours: float = Field(default=24.0, gt=0)
    delivery_max_attempts: int = Field(default=50, ge=1)
    dead_delivery_retention_days: float = Field(default=14.0, gt=0)
    followup_retention_days: float = Field(default=180.0, gt=0)
    # What Herald adds to the text it sends to trackers ("sent from Slack by …"), in the
    # project's language, so developers read one language; the player's text stays as written.
    herald_tracker_language: Annotated[str, AfterValidator(_shipped_language)] = SOURCE

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token (xoxb-…), from OAuth & Permissions")
        return token

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (xapp-…) with connections:write")
        return token

    @model_validator(mode="after")
    def _slack_mode(self) -> Settings:
        if self.slack_bot_token and not (self.slack_app_token or self.slack_signing_secret):
            raise ValueError(
                "SLACK_BOT_TOKEN needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET"
                " (HTTP mode)"
            )
        return self

    @model_validator(mode="after")
    def _discord_shards(self) -> Settings:
        count, ids = self.discord_shard_count, self.discord_shard_ids
        if ids and count is None:
            raise ValueError(
                "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total across processes)"
            )
        if count is not None and (beyond := [i for i in ids if i >= count]):
            raise ValueError(
                f"DISCORD_SHARD_IDS: shard ids run from 0 to {count - 1} with"
                f" DISCORD_SHARD_COUNT={count}, got {', '.join(map(str, beyond))}"
            )
        return self

    @property
    def slack_socket_mode(self) -> bool:
        """Socket Mode when an app token is set; HTTP mode otherwise."""
        return self.slack_app_token is not None

    def sqlite_path(self) -> Path | None:
        """The SQLite file `DATABASE_URL` names (`sqlite:///relative` or `sqlite:////abs`),
        or None for a PostgreSQL database (`postgresql://` or `postgres://`)."""
        prefix = "sqlite:///"
        if self.database_url.startswith(("postgresql://", "postgres://")):
            return None
        if not self.database_url.startswith(prefix) or self.database_url == prefix:
            raise SettingsError(
                "DATABASE_URL: written sqlite:///path/to/file.db or"
                " postgresql://user:password@host/database"
                f" (got {self.database_url.split(':', 1)[0]}:...)"
            )
        return Path(self.database_url.removeprefix(prefix))

    def secrets(self) -> list[str]:
        return [value.get_secret_value() for value in self.__dict__.values() if _is_secret(value)]


def _is_secret(value: object) -> bool:
    return isinstance(value, SecretStr) and bool(value.get_secret_value())


Loaded = TypeVar("Loaded", bound=BaseHeraldSettings)


def load_settings(cls: type[Loaded], env_file: str | Path | None = DEFAULT_ENV_FILE) -> Loaded:
    """Build `cls` from the environment, or raise one readable error.

    Raises `SettingsError` for a value that is present but wrong, and
    `NotConfigured` when the only problem is required settings left unset.
    """
    try:
        return cls(_env_file=env_file)
    except ValidationError as exc:
        missing, wrong = [], []
        for error in exc.errors():
            name = _env_name(cls, error["loc"])
            if error["type"] == "missing":
                missing.append(name)
            else:
                wrong.append(f"{name}: {_reason(error)}" if name else _reason(error))
        if wrong:
            raise SettingsError("; ".join(wrong)) from None
        raise NotConfigured(missing) from None


def _env_name(cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{loc[0]}".upper() if loc else prefix.rstrip("_").upper()


def _reason(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("int_parsing", "float_parsing"):
        message = f"must be a number, got {error['input']!r}"
    elif error["type"] in ("greater_than_equal", "less_than_equal", "greater_than"):
        message = f"{message.lower()}, got {error['input']!r}"
    return message


def required_settings(cls: type[BaseSettings]) -> list[str]:
    """The environment variables `cls` cannot do without, for help texts."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper() for name, f in cls.model_fields.items() if f.is_required()]
