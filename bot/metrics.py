"""Herald's Prometheus metrics: every definition, and the `GET /metrics` endpoint.

Each `Core` has a registry of its own (never prometheus_client's global one:
tests start many cores in one process). The rest of Herald records through
the small methods of `Metrics` (`core.metrics`) and never sees a prometheus
type.

Every label value comes from a bounded set: a service, platform, source,
command or outcome that Herald's own code names; never a user, a channel or
an item. Counters and histograms are recorded as things happen; gauges that
describe state (the outbox, saved submissions, platform connections, pollers)
are read when Prometheus scrapes, from the store and the platforms' `status()`,
so they cannot drift.
"""

from __future__ import annotations

import hmac
import importlib.metadata
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, Info, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from bot.core import Core
    from bot.server import RouteHandler

# `_created` series would double every counter's series for a value no panel uses.
# (Process-wide; through a typed name, as prometheus_client leaves the function untyped.)
_disable_created: Callable[[], None] = disable_created_metrics
_disable_created()

# Deliveries: one per outbox row (an announcement in one channel).
POSTED, EDITED, DIGEST, RETRIED, DEAD = "posted", "edited", "digest", "retried", "dead"
# Submissions: an item created, saved to be retried, refused (4xx), or the
# "similar items" prompt shown instead of creating it.
CREATED, SAVED_FOR_RETRY, REFUSED, DUPLICATE_SHOWN = (
    "created",
    "saved_for_retry",
    "refused",
    "duplicate_shown",
)
# Commands: the handler answered; the user was told what to fix (a `UserError`,
# an admin-only command); or something unexpected failed.
OK, USER_ERROR, ERROR = "ok", "user_error", "error"
TRANSPORT_ERROR = "error"
"""A service request's `status_class` when no answer came (connection failed, timeout)."""

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SERVICE = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ACK = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0)
DELIVERY = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True, slots=True)
class State:
    """What the state gauges show, read at scrape time.

    `outbox`: platform -> (undelivered rows, creation time of the oldest);
    `submissions`: service -> submissions saved and waiting for a retry;
    `platforms`: platform -> its status (`connected`, `standby`, ...).
    """

    outbox: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    submissions: dict[str, int] = field(default_factory=dict)
    platforms: dict[str, str] = field(default_factory=dict)


StateReader = Callable[[], Awaitable[State]]


def status_class(status: int) -> str:
    """`2xx`, `3xx`, `4xx` or `5xx`."""
    return f"{status // 100}xx"


def herald_version() -> str:
    """The installed package's version, else the one in pyproject.toml beside the code."""
    try:
        return importlib.metadata.version("herald")
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


class ServiceMetrics:
    """One service's request metrics, for its `ServiceClient`."""

    def __init__(self, metrics: Metrics, service: str) -> None:
        self._requests = metrics.service_requests
        self._seconds = metrics.service_seconds.labels(service)
        self._limited = metrics.service_rate_limited.labels(service)
        self.service = service

    def request(self, status: int | None, seconds: float) -> None:
        """One attempt: its HTTP status, or None when no answer came."""
        label = TRANSPORT_ERROR if status is None else status_class(status)
        self._requests.labels(self.service, label).inc()
        self._seconds.observe(seconds)
        if status == 429:
            self._limited.inc()


class Metrics:
    """Every metric of one Herald, and the methods the rest of Herald records with."""

    def __init__(self, read_state: StateReader, version: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self._read_state = read_state
        self._state = State()
        self._pollers: dict[str, float] = {}
        self._submitting: set[str] = set()
        self._webhook_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        registry = self.registry
        self.webhooks = Counter(
            "herald_webhooks_total",
            "Webhook requests, by source and outcome.",
            ["source", "outcome"],
            registry=registry,
        )
        self.webhook_seconds = Histogram(
            "herald_webhook_seconds",
            "Time to answer a webhook (stored before the answer).",
            ["source"],
            buckets=FAST,
            registry=registry,
        )
        self.deliveries = Counter(
            "herald_deliveries_total",
            "Announcements (outbox rows) by platform and outcome.",
            ["platform", "outcome"],
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "herald_delivery_seconds",
            "From a webhook received (or a poller's change noticed) to the message visible.",
            ["platform"],
            buckets=DELIVERY,
            registry=registry,
        )
        self.submissions = Counter(
            "herald_submissions_total",
            "Submissions to services, by service, kind and outcome.",
            ["service", "kind", "outcome"],
            registry=registry,
        )
        self.service_requests = Counter(
            "herald_service_requests_total",
            "HTTP requests to services (each attempt), by status class.",
            ["service", "status_class"],
            registry=registry,
        )
        self.service_seconds = Histogram(
            "herald_service_request_seconds",
            "Time of one HTTP request to a service.",
            ["service"],
            buckets=SERVICE,
            registry=registry,
        )
        self.service_rate_limited = Counter(
            "herald_service_rate_limited_total",
            "429 answers from services.",
            ["service"],
            registry=registry,
        )
        self.commands = Counter(
            "herald_commands_total",
            "Commands and buttons run, by name, platform and outcome.",
            ["command", "platform", "outcome"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "herald_interaction_ack_seconds",
            "From an interaction received to Herald's acknowledgement sent.",
            ["platform"],
            buckets=ACK,
            registry=registry,
        )
        Info("herald", "Herald's version.", registry=registry).info(
            {"version": version or herald_version()}
        )
        registry.register(_StateCollector(self))

    # --- recording ----------------------------------------------------------

    def webhook(self, source: str, outcome: str, seconds: float) -> None:
        # On the accept path: the labelled series are looked up once (a third of the cost).
        series = self._webhook_series.get((source, outcome))
        if series is None:
            series = self.webhooks.labels(source, outcome), self.webhook_seconds.labels(source)
            self._webhook_series[(source, outcome)] = series
        series[0].inc()
        series[1].observe(seconds)

    def delivered(self, platform: str, outcome: str, received: Sequence[float]) -> None:
        """Rows delivered in one message; `received` holds when each was received."""
        self.deliveries.labels(platform, outcome).inc(len(received))
        now = time.time()
        seconds = self.delivery_seconds.labels(platform)
        for at in received:
            seconds.observe(max(0.0, now - at))

    def undelivered(self, platform: str, outcome: str, rows: int) -> None:
        """Rows whose attempt failed (`retried`) or that were given up (`dead`)."""
        if rows:
            self.deliveries.labels(platform, outcome).inc(rows)

    def submission(self, service: str, kind: str, outcome: str) -> None:
        self.submissions.labels(service, kind, outcome).inc()

    def submitting(self, service: str) -> None:
        """`service` takes submissions: its pending gauge shows 0 rather than nothing."""
        self._submitting.add(service)

    def service(self, service: str) -> ServiceMetrics:
        return ServiceMetrics(self, service)

    def command(self, command: str, platform: str, outcome: str) -> None:
        self.commands.labels(command, platform, outcome).inc()

    def acknowledged(self, platform: str, seconds: float) -> None:
        self.ack_seconds.labels(platform).observe(seconds)

    def poller_succeeded(self, source: str) -> None:
        self._pollers[source] = time.time()

    # --- scraping -----------------------------------------------------------

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The scrape's body and content type (text format, or OpenMetrics if asked)."""
        self._state = await self._read_state()
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    def _state_metrics(self) -> Iterator[Metric]:
        state, now = self._state, time.time()
        pending = GaugeMetricFamily(
            "herald_outbox_pending", "Announcements not delivered yet.", labels=["platform"]
        )
        oldest = GaugeMetricFamily(
            "herald_outbox_oldest_seconds",
            "Age of the oldest announcement not delivered yet (0 when none).",
            labels=["platform"],
        )
        for platform, (count, created) in sorted(state.outbox.items()):
            pending.add_metric([platform], count)
            oldest.add_metric([platform], max(0.0, now - created) if created else 0.0)
        waiting = GaugeMetricFamily(
            "herald_submissions_pending",
            "Submissions a service did not take, saved and waiting for a retry.",
            labels=["service"],
        )
        for service in sorted(self._submitting | set(state.submissions)):
            waiting.add_metric([service], state.submissions.get(service, 0))
        connected = GaugeMetricFamily(
            "herald_platform_connected", "1 when the platform is connected.", labels=["platform"]
        )
        standby = GaugeMetricFamily(
            "herald_platform_standby",
            "1 when another process holds the platform's gateway session (Discord, unsharded).",
            labels=["platform"],
        )
        for platform, status in sorted(state.platforms.items()):
            connected.add_metric([platform], 1 if status == "connected" else 0)
            standby.add_metric([platform], 1 if status == "standby" else 0)
        polled = GaugeMetricFamily(
            "herald_poller_last_success_timestamp",
            "When the poller last read its service successfully (Unix time).",
            labels=["source"],
        )
        for source, at in sorted(self._pollers.items()):
            polled.add_metric([source], at)
        yield from (pending, oldest, waiting, connected, standby, polled)


class _StateCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics._state_metrics()


def core_state(core: Core) -> StateReader:
    """Reads the state gauges from `core`: two aggregate queries and the platforms."""

    async def read() -> State:
        platforms = {p.name: p.status() for p in core.platforms}
        try:
            store = core.store
        except RuntimeError:  # not open yet, or closed
            return State(platforms=platforms)
        outbox: dict[str, tuple[int, float | None]] = dict.fromkeys(platforms, (0, None))
        outbox.update(await store.outbox_backlog())
        return State(outbox, await store.submissions_waiting(), platforms)

    return read


def metrics_endpoint(metrics: Metrics, token: str | None) -> RouteHandler:
    """`GET /metrics`; with `token`, only for `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode() if token else None

    async def handle(request: web.Request) -> web.Response:
        if expected is not None:
            given = request.headers.get("Authorization", "").encode(errors="surrogateescape")
            if not hmac.compare_digest(given, expected):
                return web.json_response(
                    {"error": "missing or wrong METRICS_TOKEN"},
                    status=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        body, content_type = await metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle
