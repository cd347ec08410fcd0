"""Outgoing HTTP to the studio's services: one httpx client per service.

Every call goes through the service's rate limiter, is retried with jittered
backoff when the failure is worth retrying, and ends either in a response or
in a `ServiceError` whose message can be shown to a user as it is.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot.backoff import MAX_SERVER_DELAY, backoff
from bot.errors import ServiceError
from bot.i18n import _
from bot.metrics import ServiceMetrics
from bot.ratelimit import RateLimiter

log = logging.getLogger(__name__)

ErrorReader = Callable[[httpx.Response], str | None]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Statuses that say the application did not act on the request, so even a
# POST can be sent again without risking a duplicate. A 502 or 504 says only
# that a proxy gave up waiting: the application may have acted.
NOT_PROCESSED = frozenset({429, 503})
# Transport failures before a byte of the request left: nothing reached the server.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A quota's reset time is read from the server's clock and often rounded to the
# second: wait this much longer so the first request after it is not early.
RESET_MARGIN = 0.25
# The shortest pause after a 429, whatever its headers say.
MIN_429_WAIT = 0.5


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from `Retry-After` or `X-RateLimit-Reset`."""
    now = time.time() if now is None else now
    wait = _retry_after_header(response.headers.get("Retry-After"), now)
    if wait is None:
        wait = _reset_in(response.headers, now)
    return None if wait is None else min(wait, MAX_SERVER_DELAY)


def _retry_after_header(header: str | None, now: float) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP date); None when absent or garbled."""
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _reset_in(headers: Mapping[str, str], now: float) -> float | None:
    """`X-RateLimit-Reset` as seconds from now; it is an epoch time or a delta."""
    value = headers.get("X-RateLimit-Reset-After") or headers.get("X-RateLimit-Reset")
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return max(0.0, number - now) if number > 1_000_000_000 else max(0.0, number)


class ServiceClient:
    """An httpx client for one service, with its limits and its way of failing.

    `label` is the service's name as users know it ("BetaHub"); `read_error`
    extracts the service's own reason from an error response; `auth_hint`
    names the setting to check when the service rejects our credentials.
    A request the rate limiter would hold for longer than `max_wait` (the
    quota is spent until a reset far off) fails at once as retryable, with
    `retry_after` saying when the quota is back, instead of hanging its caller.
    `metrics` counts every attempt (its status class and time) and each 429.
    """

    def __init__(
        self,
        label: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        limiter: RateLimiter | None = None,
        max_attempts: int = 3,
        max_wait: float = 10.0,
        read_error: ErrorReader | None = None,
        auth_hint: str | None = None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.label = label
        self.metrics = metrics
        self.limiter = limiter or RateLimiter(rate=5, per=1.0, burst=5)
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self._read_error = read_error or (lambda _: None)
        self._auth_hint = auth_hint
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; return a 2xx/3xx response or raise `ServiceError`."""
        method = method.upper()
        shown = path.split("?", 1)[0]  # a query string may carry a token: never log it
        attempt = 0
        while True:
            attempt += 1
            if (held := self.limiter.delay()) > self.max_wait:
                raise self._busy(held)
            await self.limiter.acquire()
            started = time.monotonic()
            try:
                response = await self._client.request(method, path.lstrip("/"), **kwargs)
            except httpx.TransportError as exc:
                self._count(None, started)
                sent = not isinstance(exc, NOT_SENT)
                log.warning("%s %s %s failed: %s", self.label, method, shown, type(exc).__name__)
                if attempt < self.max_attempts and (method in IDEMPOTENT or not sent):
                    await asyncio.sleep(self._backoff(attempt))
                    continue
                raise ServiceError(
                    self.label,
                    _("{service} is not answering right now.", service=self.label),
                    retryable=True,
                    ambiguous=sent and method not in IDEMPOTENT,
                ) from None
            log.debug(
                "%s %s %s -> %s in %.0f ms",
                self.label,
                method,
                shown,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            self._count(response.status_code, started)
            self._observe_quota(response)
            if response.status_code < 400:
                return response
            wait = self._retry_wait(method, response, attempt)
            if wait is None:
                raise self._error(response, ambiguous=method not in IDEMPOTENT)
            await asyncio.sleep(wait)

    async def json_object(self, path: str) -> dict[str, Any] | None:
        """GET `path` and return its JSON object, or None when the answer is not one."""
        response = await self.request("GET", path)
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _count(self, status: int | None, started: float) -> None:
        if self.metrics is not None:
            self.metrics.request(status, time.monotonic() - started)

    def _observe_quota(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = _reset_in(response.headers, time.time())
        if remaining is not None and remaining.isdigit() and reset is not None:
            self.limiter.observe(int(remaining), reset + RESET_MARGIN)

    def _retry_wait(self, method: str, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before trying again, or None to give up now."""
        status = response.status_code
        if attempt >= self.max_attempts or status < 429 or 429 < status < 500:
            return None
        if method not in IDEMPOTENT and status not in NOT_PROCESSED:
            return None
        if status == 429:
            # A reset already past (clocks differ) must not turn into a tight loop.
            wait = max(retry_after(response) or 0.0, MIN_429_WAIT) + RESET_MARGIN
            self.limiter.pause_until(time.monotonic() + wait)
            return wait if wait <= self.max_wait else None
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, first=1.0, cap=self.max_wait)

    def _error(self, response: httpx.Response, *, ambiguous: bool) -> ServiceError:
        """The error for a refused request; `ambiguous` when it was not idempotent, so a
        5xx other than 503 leaves open whether the service acted on it."""
        status = response.status_code
        reason = self._safe_reason(response)
        if status == 429:
            return self._busy(retry_after(response), status)
        if status >= 500:
            return ServiceError(
                self.label,
                _(
                    "{service} is not answering right now (HTTP {status}).",
                    service=self.label,
                    status=status,
                ),
                status=status,
                retryable=True,
                ambiguous=ambiguous and status not in NOT_PROCESSED,
            )
        if status in (401, 403):
            message = (
                _(
                    "{service} did not accept Herald's credentials ({reason}).",
                    service=self.label,
                    reason=reason,
                )
                if reason
                else _("{service} did not accept Herald's credentials.", service=self.label)
            )
            if self._auth_hint:
                message += " " + _("An admin should check {what}.", what=self._auth_hint)
            return ServiceError(self.label, message, status=status)
        message = reason or _(
            "{service} refused the request (HTTP {status}).", service=self.label, status=status
        )
        return ServiceError(self.label, message, status=status)

    def _busy(self, wait: float | None, status: int | None = None) -> ServiceError:
        return ServiceError(
            self.label,
            _("{service} is busy right now (too many requests).", service=self.label),
            status=status,
            retryable=True,
            retry_after=wait,
        )

    def _safe_reason(self, response: httpx.Response) -> str | None:
        try:
            reason = self._read_error(response)
        except ValueError:
            return None
        return reason.strip()[:500] if reason else None
