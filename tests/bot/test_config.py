"""Settings: each kind of bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import cogs
from bot.config import NotConfigured, ServiceSettings, Settings, SettingsError, load_settings
from bot.i18n import LANGUAGES
from cogs.betahub.settings import BetaHubSettings
from tests.conftest import run_bot


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(Settings, env_file=None)


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = settings(monkeypatch)
    assert loaded.discord_token is None
    assert loaded.discord_api_base == "https://discord.com/api/v10"
    assert loaded.discord_guild_ids == []
    assert (loaded.http_host, loaded.http_port) == ("0.0.0.0", 8080)
    assert loaded.sqlite_path() == Path("data/herald.db")
    assert loaded.log_level == "INFO"


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = settings(
        monkeypatch,
        DISCORD_TOKEN="abc.def.ghi",
        DISCORD_GUILD_IDS="123, 456",
        DISCORD_API_BASE="http://127.0.0.1:9999/api/v10/",
        DISCORD_GATEWAY_URL="wss://gateway.example",
        LOG_LEVEL="debug",
        DATABASE_URL="sqlite:////var/lib/herald.db",
    )
    assert loaded.discord_guild_ids == [123, 456]
    assert loaded.discord_api_base == "http://127.0.0.1:9999/api/v10"
    assert loaded.log_level == "DEBUG"
    assert loaded.sqlite_path() == Path("/var/lib/herald.db")
    assert loaded.secrets() == ["abc.def.ghi"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HTTP_PORT", "eighty", "HTTP_PORT: must be a number, got 'eighty'"),
        ("HTTP_PORT", "70000", "HTTP_PORT: input should be less than or equal to 65535"),
        ("DISCORD_GUILD_IDS", "123,abc", "DISCORD_GUILD_IDS: 'abc' is not a Discord id"),
        ("DISCORD_API_BASE", "discord.com/api", "DISCORD_API_BASE: must be an http:// or https://"),
        ("DISCORD_GATEWAY_URL", "https://gw", "DISCORD_GATEWAY_URL: must be a ws:// or wss://"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR"),
        ("HERALD_LANGUAGE", "xx", "HERALD_LANGUAGE: must be one of the shipped languages (en, de"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as error:
        settings(monkeypatch, **{name: value})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("environment", "language"),
    [
        ({}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "de"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "uk_UA.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8", "LC_MESSAGES": "pt_BR.UTF-8"}, "pt_BR"),
        ({"LANG": "de_DE.UTF-8", "LC_MESSAGES": "pt_BR.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "de_DE.UTF-8", "HERALD_LANGUAGE": "zh-CN"}, "zh_CN"),
        ({"HERALD_LANGUAGE": "en-GB"}, "en"),
    ],
)
def test_the_language_follows_the_environments_locale_unless_set(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], language: str
) -> None:
    assert settings(monkeypatch, **environment).herald_language == language


def test_the_database_is_an_sqlite_file_or_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    for url in ("postgres://user:pw@db/herald", "postgresql://user:pw@db:5433/herald"):
        postgres = settings(monkeypatch, DATABASE_URL=url)
        assert postgres.sqlite_path() is None, "no file: several processes may share it"

    mysql = settings(monkeypatch, DATABASE_URL="mysql://user:pw@db/herald")
    with pytest.raises(
        SettingsError, match=r"sqlite:///path/to/file\.db or postgresql://"
    ) as error:
        mysql.sqlite_path()
    assert "pw" not in str(error.value), "credentials in the URL are not echoed"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BETAHUB_TOKEN": "secret-without-kind"}, "BETAHUB_TOKEN: must be a personal access"),
        ({"BETAHUB_PROJECT_ID": "pr/1?x"}, "BETAHUB_PROJECT_ID: must be a project id"),
        ({"BETAHUB_URL": "app.betahub.io"}, "BETAHUB_URL: must be an http:// or https://"),
        ({"BETAHUB_TIMEOUT_SECONDS": "0"}, "BETAHUB_TIMEOUT_SECONDS: input should be greater"),
    ],
)
def test_a_bad_service_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in {"BETAHUB_TOKEN": "pat-x", "BETAHUB_PROJECT_ID": "pr-1", **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(BetaHubSettings, env_file=None)
    assert str(error.value).startswith(message)
    assert "secret-without-kind" not in str(error.value), "a bad secret is not echoed back"


def test_missing_required_service_settings_mean_not_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BETAHUB_TOKEN", "pat-x")
    with pytest.raises(NotConfigured) as missing:
        load_settings(BetaHubSettings, env_file=None)
    assert missing.value.missing == ["BETAHUB_PROJECT_ID"]


def test_dotenv_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HTTP_PORT=9000\nLOG_LEVEL=WARNING\n# a comment\n")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    loaded = load_settings(Settings, env_file=env_file)
    assert loaded.http_port == 9000
    assert loaded.log_level == "ERROR"


def test_start_up_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path, HTTP_PORT="eighty")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "herald: cannot start: HTTP_PORT: must be a number, got 'eighty'"
    )


def test_a_bad_service_setting_also_stops_start_up(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "check", BETAHUB_TOKEN="nope-123", BETAHUB_PROJECT_ID="pr-1")
    assert result.returncode == 2
    assert "herald: cannot start: BETAHUB_TOKEN: must be a personal access token" in result.stderr
    assert "Traceback" not in result.stderr
    assert "nope-123" not in result.stderr


def test_every_setting_is_documented_in_env_example() -> None:
    for info in pkgutil.iter_modules(cogs.__path__):
        importlib.import_module(f"cogs.{info.name}")
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    documented = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}
    for cls in (Settings, *ServiceSettings.__subclasses__()):
        prefix = str(cls.model_config.get("env_prefix", ""))
        names = {f"{prefix}{name}".upper() for name in cls.model_fields}
        assert names <= documented, (
            f"{cls.__name__}: {sorted(names - documented)} not in .env.example"
        )


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("HACKNPLAN_WEBHOOK_SECRET", ()),
        ("BUGHERD_WEBHOOK_SECRET", ()),
        ("USERECHO_WEBHOOK_KEY", ("check",)),
    ],
)
def test_a_webhook_secret_shorter_than_16_characters_stops_start_up(
    tmp_path: Path, name: str, args: tuple[str, ...]
) -> None:
    result = run_bot(tmp_path, *args, **{name: "fifteen-chars!!"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"herald: cannot start: {name}: must be at least 16 characters; choose a long random"
        ' secret (python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
    )
    assert result.stderr.count("cannot start") == 1
    assert "Traceback" not in result.stderr
    assert "fifteen-chars!!" not in result.stderr


def test_a_webhook_secret_of_16_characters_is_enough(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "check", HACKNPLAN_WEBHOOK_SECRET="sixteen-chars!!!")
    assert result.returncode == 0, result.stderr
    assert "hacknplan" in result.stdout


def test_the_tracker_language_takes_any_spelling_of_a_shipped_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings(monkeypatch).herald_tracker_language == "en"
    assert settings(monkeypatch, HERALD_TRACKER_LANGUAGE="pt-BR").herald_tracker_language == (
        "pt_BR"
    )
    assert settings(monkeypatch, HERALD_TRACKER_LANGUAGE="de_DE.UTF-8").herald_tracker_language == (
        "de"
    )
    assert settings(monkeypatch, HERALD_TRACKER_LANGUAGE="en-GB").herald_tracker_language == "en"


def test_an_unknown_tracker_language_stops_start_up_naming_the_shipped_ones(
    tmp_path: Path,
) -> None:
    result = run_bot(tmp_path, HERALD_TRACKER_LANGUAGE="tlh")
    assert result.returncode == 2
    shipped = ", ".join(LANGUAGES)
    assert result.stderr.strip() == (
        "herald: cannot start: HERALD_TRACKER_LANGUAGE: must be one of the shipped languages"
        f" ({shipped}), got 'tlh'"
    )
