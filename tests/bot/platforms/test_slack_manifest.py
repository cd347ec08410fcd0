"""The Slack app manifest is made from the commands, and the committed one is current."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import run_bot

ROOT = Path(__file__).resolve().parents[3]
EVERY_SERVICE = {
    "BETAHUB_TOKEN": "pat-x",
    "BETAHUB_PROJECT_ID": "pr-1",
    "USERECHO_URL": "http://127.0.0.1:9/api/v2",
    "USERECHO_TOKEN": "x",
    "USERECHO_FORUM_ID": "1",
    "USERECHO_WEBHOOK_KEY": "x" * 16,
    "HACKNPLAN_WEBHOOK_SECRET": "x" * 16,
    "BUGHERD_WEBHOOK_SECRET": "x" * 16,
    "BUTTERSTACK_TOKEN": "bsk_live_x",
    "BUTTERSTACK_PROJECT_IDS": "proj_1",
}


def test_the_committed_manifest_lists_every_command_and_shortcut(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "slack-manifest", **EVERY_SERVICE)
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "slack-manifest.yml").read_text()
    assert result.stdout == committed, (
        "slack-manifest.yml is stale: regenerate it with every service configured,"
        " python -m bot slack-manifest > slack-manifest.yml"
    )

    manifest = yaml.safe_load(committed)
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert {"/suggest", "/report", "/ticket", "/topic", "/herald", "/subscribe"} <= commands
    assert {"/build", "/deploys", "/changelist"} <= commands
    shortcuts = {s["name"]: s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {
        "Report as bug": "herald:menu:report",
        "Suggest as feature": "herald:menu:suggest",
    }
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "users:read.email" in manifest["oauth_config"]["scopes"]["bot"]


def test_http_mode_points_everything_at_slack_events(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path, "slack-manifest", "--url", "https://herald.example.com/", **EVERY_SERVICE
    )
    manifest = yaml.safe_load(result.stdout)
    endpoint = "https://herald.example.com/slack/events"
    assert {c["url"] for c in manifest["features"]["slash_commands"]} == {endpoint}
    assert manifest["settings"]["interactivity"]["request_url"] == endpoint
    assert manifest["settings"]["socket_mode_enabled"] is False
