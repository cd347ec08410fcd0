"""ButterStack's settings: what turns the cog on, and one clear line for a wrong value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import NotConfigured, SettingsError, load_settings
from cogs.butterstack.settings import ButterStackSettings
from tests.conftest import run_bot


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> ButterStackSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(ButterStackSettings, env_file=None)


def test_token_and_project_ids_turn_butterstack_on(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotConfigured) as missing:
        load(monkeypatch)
    assert missing.value.missing == ["BUTTERSTACK_TOKEN", "BUTTERSTACK_PROJECT_IDS"]

    loaded = load(
        monkeypatch, BUTTERSTACK_TOKEN="bsk_live_x", BUTTERSTACK_PROJECT_IDS="proj_a, proj_b,proj_a"
    )
    assert loaded.project_ids == ["proj_a", "proj_b"]
    assert loaded.url == "https://api.butterstack.com/v1"
    assert loaded.poll_seconds == 15
    assert loaded.rate_limit_per_minute == 60
    assert loaded.secrets() == ["bsk_live_x"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BUTTERSTACK_PROJECT_IDS", " , ", "BUTTERSTACK_PROJECT_IDS: name at least one project"),
        ("BUTTERSTACK_PROJECT_IDS", "proj a", "BUTTERSTACK_PROJECT_IDS: 'proj a' is not a project"),
        ("BUTTERSTACK_POLL_SECONDS", "0", "BUTTERSTACK_POLL_SECONDS: input should be greater"),
        ("BUTTERSTACK_RATE_LIMIT_PER_MINUTE", "lots", "BUTTERSTACK_RATE_LIMIT_PER_MINUTE: must be"),
        (
            "BUTTERSTACK_URL",
            "api.butterstack.com",
            "BUTTERSTACK_URL: must be an http:// or https://",
        ),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    env = {"BUTTERSTACK_TOKEN": "bsk_live_x", "BUTTERSTACK_PROJECT_IDS": "proj_a", name: value}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load(monkeypatch, **env)


def test_check_lists_the_butterstack_commands(tmp_path: Path) -> None:
    off = run_bot(tmp_path, "check")
    assert "butterstack: off (set BUTTERSTACK_TOKEN, BUTTERSTACK_PROJECT_IDS)" in off.stdout

    on = run_bot(tmp_path, "check", BUTTERSTACK_TOKEN="bsk_live_x", BUTTERSTACK_PROJECT_IDS="p1")
    assert on.returncode == 0, on.stderr
    assert "cogs: butterstack" in on.stdout
    assert (
        "commands: /build list, /build status, /build trigger, /changelist, /deploys,"
        " /herald config build-role"
    ) in on.stdout
    assert "bsk_live_x" not in on.stdout + on.stderr
