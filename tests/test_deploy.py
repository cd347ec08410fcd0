"""deploy/: the compose files, Prometheus's alert rules and Grafana's dashboard fit together
and speak only of metrics Herald exports (the names issue 10 fixes); compose.scale.yml runs
several Herald processes on one PostgreSQL with settings Herald has.

No Docker engine runs here, and the `docker` client has no compose plugin, so the
compose file is checked structurally: what it mounts exists, and what one service
expects of another (addresses, paths, datasource ids) matches.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
METRICS = {
    "herald_webhooks_total",
    "herald_webhook_seconds",
    "herald_deliveries_total",
    "herald_outbox_pending",
    "herald_outbox_oldest_seconds",
    "herald_delivery_seconds",
    "herald_submissions_total",
    "herald_submissions_pending",
    "herald_service_requests_total",
    "herald_service_request_seconds",
    "herald_service_rate_limited_total",
    "herald_commands_total",
    "herald_interaction_ack_seconds",
    "herald_poller_last_success_timestamp",
    "herald_platform_connected",
    "herald_platform_standby",
    "herald_info",
}
# The labels issue 10 gives the metrics (bounded sets: never a user, channel or item),
# with Prometheus's own: `le` on histogram buckets, `instance` and `job` on every series.
LABELS = {"service", "platform", "source", "outcome", "kind", "status_class", "command"}
LABELS |= {"version", "le", "instance", "job"}
HISTOGRAMS = {name for name in METRICS if name.endswith("_seconds") and "oldest" not in name}
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
DURATION = re.compile(r"^\d+[smhd]$")


def load(path: str) -> Any:
    return yaml.safe_load((DEPLOY / path).read_text())


def metric_names(text: str) -> set[str]:
    return set(re.findall(r"\bherald_[a-z_]+\b", text))


def labels(text: str) -> set[str]:
    """Label names used in PromQL (`by (...)`, `{name="..."}`) and templates (`{{name}}`)."""
    used = set(re.findall(r"\{\{\s*(?:\$labels\.)?([a-z_]+)\s*\}\}", text))
    for group in re.findall(r"\bby \(([^)]*)\)", text):
        used |= {name.strip() for name in group.split(",")}
    used |= set(re.findall(r"[{,]\s*([a-z_]+)\s*=~?\s*\"", text))
    return used


def exported(name: str) -> bool:
    """Whether Herald exports a series called `name` (a histogram exports three)."""
    if name in METRICS:
        return True
    return any(name == h + series for h in HISTOGRAMS for series in HISTOGRAM_SERIES)


def mounts(service: str) -> dict[str, str]:
    """A compose service's volumes: where in the container -> what is mounted there."""
    volumes = load("compose.yml")["services"][service]["volumes"]
    return {target: source for source, target, *_ in (v.split(":") for v in volumes)}


def rules() -> list[dict[str, Any]]:
    return [rule for group in load("prometheus/alerts.yml")["groups"] for rule in group["rules"]]


def test_every_metric_named_in_deploy_is_one_herald_exports() -> None:
    used = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= metric_names(path.read_text())
    assert used, "deploy/ names no metric"
    assert {name for name in used if not exported(name)} == set()


def test_deploy_groups_by_the_issues_labels_only() -> None:
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = (DEPLOY / "grafana" / "dashboards" / "herald.json").read_text()
    assert {"platform", "service", "source", "le"} <= labels(alerts) | labels(dashboard)
    assert labels(alerts) | labels(dashboard) <= LABELS


def test_the_alert_rules_are_well_formed() -> None:
    groups = load("prometheus/alerts.yml")["groups"]
    assert [group["name"] for group in groups] == ["herald"]
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"Herald[A-Z][A-Za-z]+", rule["alert"])
        assert isinstance(rule["expr"], str)
        assert rule["expr"].count("(") == rule["expr"].count(")")
        assert DURATION.match(rule.get("for", "0m")), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


def test_the_alerts_the_issue_asks_for() -> None:
    def rule_on(metric: str) -> dict[str, Any]:
        (found,) = [rule for rule in rules() if metric in metric_names(rule["expr"])]
        return found

    lag = rule_on("herald_outbox_oldest_seconds")
    assert lag["expr"].endswith("> 300")
    disconnected = "herald_platform_connected + herald_platform_standby == 0"
    assert rule_on("herald_platform_connected")["expr"] == disconnected
    assert rule_on("herald_platform_connected")["for"] == "2m"
    assert rule_on("herald_submissions_pending")["expr"] == "herald_submissions_pending > 0"
    assert rule_on("herald_submissions_pending")["for"] == "30m"
    assert rule_on("herald_poller_last_success_timestamp")["expr"].startswith(
        "time() - herald_poller_last_success_timestamp >"
    )


def test_compose_runs_herald_with_a_volume_and_monitoring_on_request() -> None:
    compose = load("compose.yml")
    herald = compose["services"]["herald"]
    assert (DEPLOY / herald["build"]["context"] / herald["build"]["dockerfile"]).is_file()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DATABASE_URL=sqlite:////data/herald.db" in dockerfile
    assert "herald-data:/data" in herald["volumes"]
    assert "8080:8080" in herald["ports"]
    assert "profiles" not in herald
    for name in ("prometheus", "grafana"):
        assert compose["services"][name]["profiles"] == ["monitoring"]
    assert_mounts_exist(compose)


def assert_mounts_exist(compose: dict[str, Any]) -> None:
    """What each service mounts is a file in deploy/ or a volume the compose file declares."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"


def test_compose_scale_runs_three_heralds_on_one_postgresql() -> None:
    compose = load("compose.scale.yml")
    postgres = compose["services"].pop("postgres")
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert_mounts_exist({**compose, "services": {"postgres": postgres}})
    env = postgres["environment"]
    url = f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
    heralds = compose["services"]
    assert sorted(heralds) == ["herald-1", "herald-2", "herald-3"]
    ports = []
    for name, herald in heralds.items():
        assert (DEPLOY / herald["build"]["context"] / herald["build"]["dockerfile"]).is_file()
        assert herald["environment"]["DATABASE_URL"] == url + env["POSTGRES_DB"], name
        assert herald["depends_on"] == {"postgres": {"condition": "service_healthy"}}, name
        check = " ".join(herald["healthcheck"]["test"])
        assert "http://127.0.0.1:8080/livez" in check, name
        (published,) = herald["ports"]
        host, container = published.split(":")
        assert container == str(Settings.model_fields["http_port"].default) == "8080"
        ports.append(host)
    assert len(set(ports)) == 3

    # The shard settings shown commented out are Herald's, and split shards 0..2 between them.
    text = (DEPLOY / "compose.scale.yml").read_text()
    shown = set(re.findall(r"#\s*([A-Z_]+):", text))
    assert {"DISCORD_SHARD_COUNT", "DISCORD_SHARD_IDS"} <= shown
    assert {name.lower() for name in shown} <= set(Settings.model_fields)
    assert set(re.findall(r'# DISCORD_SHARD_COUNT: "(\d+)"', text)) == {"3"}
    assert sorted(re.findall(r'# DISCORD_SHARD_IDS: "(\d+)"', text)) == ["0", "1", "2"]


def test_prometheus_scrapes_herald_and_loads_the_alert_rules() -> None:
    prometheus = load("compose.yml")["services"]["prometheus"]
    config = load("prometheus/prometheus.yml")
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert mounts("prometheus")["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    (rule_file,) = config["rule_files"]
    assert mounts("prometheus")[rule_file] == "./prometheus/alerts.yml"
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["herald:8080"]}]
    assert any(f'up{{job="{job["job_name"]}"}} == 0' == rule["expr"] for rule in rules())


def test_grafana_gets_prometheus_and_the_dashboard() -> None:
    assert mounts("grafana")["/etc/grafana/provisioning"] == "./grafana/provisioning"
    (source,) = load("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    (provider,) = load("grafana/provisioning/dashboards/herald.yml")["providers"]
    assert mounts("grafana")[provider["options"]["path"]] == "./grafana/dashboards"

    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "herald.json").read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    drawn = set()
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"]
            drawn |= metric_names(target["expr"])
    assert {name.removesuffix("_bucket") for name in drawn} == METRICS
