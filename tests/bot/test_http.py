"""ServiceClient against a real local server: retries, Retry-After, quotas, error messages."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.errors import ServiceError
from bot.http import ServiceClient, retry_after
from bot.logs import RedactSecrets
from bot.ratelimit import RateLimiter
from tests.fakes.server import FakeServer, json_response


class Scripted(FakeServer):
    """Answers each request with the next scripted (status, headers) pair, then 200."""

    def __init__(self) -> None:
        self.answers: list[tuple[int | str, dict[str, str]]] = []
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/{tail:.*}", self._answer)

    async def _answer(self, _: web.Request) -> web.Response:
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        if status == "hang":
            await asyncio.sleep(30)
        if status == 200:
            return json_response({"ok": True}, 200, headers)
        return json_response({"error": f"refused with {status}"}, int(status), headers)


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    async with Scripted() as fake:
        yield fake


@pytest.fixture
async def client(server: Scripted) -> AsyncIterator[ServiceClient]:
    service = ServiceClient(
        "Tracker",
        server.url,
        headers={"Authorization": "Bearer very-secret-token"},
        timeout=0.5,
        limiter=RateLimiter(rate=100, burst=100),
        max_attempts=3,
        max_wait=2.0,
        read_error=lambda r: r.json().get("error"),
        auth_hint="TRACKER_TOKEN",
    )
    yield service
    await service.close()


async def test_429_waits_for_retry_after_then_succeeds(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(429, {"Retry-After": "0.3"})]
    started = time.monotonic()
    response = await client.request("POST", "items.json", data={"a": "1"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    assert len(server.calls) == 2


async def test_429_with_a_long_wait_gives_up_at_once_as_retryable(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(429, {"Retry-After": "120"})]
    with pytest.raises(ServiceError) as error:
        await client.request("GET", "items.json")
    assert error.value.retryable
    assert error.value.retry_after == 120
    assert error.value.message == "Tracker is busy right now (too many requests)."
    assert len(server.calls) == 1


async def test_ratelimit_reset_header_is_honoured_on_429(
    server: Scripted, client: ServiceClient
) -> None:
    reset = time.time() + 0.4
    server.answers = [(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": f"{reset:.3f}"})]
    await client.request("GET", "items.json")
    assert len(server.calls) == 2
    assert time.time() >= reset - 0.05


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_post_that_may_have_been_processed_is_not_repeated_and_says_so(
    server: Scripted, client: ServiceClient, status: int
) -> None:
    server.answers = [(status, {})]
    with pytest.raises(ServiceError) as error:
        await client.request("POST", "items.json", data={"a": "1"})
    assert error.value.retryable
    assert error.value.ambiguous, "the caller must look before sending it again"
    assert error.value.status == status
    assert len(server.calls) == 1, "the first POST may have been processed"


async def test_a_post_that_did_not_reach_the_app_is_retried(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(503, {}), (429, {"Retry-After": "0"})]
    response = await client.request("POST", "items.json", data={"a": "1"})
    assert response.status_code == 200
    assert len(server.calls) == 3


async def test_a_post_refused_with_503_every_time_is_not_ambiguous(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(503, {})] * 3
    with pytest.raises(ServiceError) as error:
        await client.request("POST", "items.json", data={"a": "1"})
    assert error.value.retryable
    assert not error.value.ambiguous, "a 503 says the service did not act"
    assert len(server.calls) == 3


async def test_a_get_that_failed_is_never_ambiguous(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(504, {})] * 3
    with pytest.raises(ServiceError) as error:
        await client.request("GET", "items.json")
    assert not error.value.ambiguous


async def test_gets_are_retried_on_5xx_until_attempts_run_out(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(500, {}), (500, {}), (500, {}), (500, {})]
    with pytest.raises(ServiceError, match=r"Tracker is not answering right now \(HTTP 500\)"):
        await client.request("GET", "items.json")
    assert len(server.calls) == 3


async def test_a_hanging_service_times_out_with_a_clear_message(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [("hang", {})]
    with pytest.raises(ServiceError) as error:
        await client.request("POST", "items.json", data={"a": "1"})
    assert error.value.message == "Tracker is not answering right now."
    assert error.value.retryable
    assert error.value.ambiguous, "a read timeout leaves open whether the POST was processed"
    assert len(server.calls) <= 1, "it is not sent again"


async def test_connection_refused_is_retried_and_then_retryable() -> None:
    service = ServiceClient("Tracker", "http://127.0.0.1:9", max_attempts=2, max_wait=0.1)
    try:
        with pytest.raises(ServiceError) as error:
            await service.request("POST", "x", data={})
    finally:
        await service.close()
    assert error.value.retryable
    assert not error.value.ambiguous, "a refused connection never reached the server"


async def test_rejected_credentials_name_the_setting(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [(401, {})]
    with pytest.raises(ServiceError) as error:
        await client.request("GET", "items.json")
    assert not error.value.retryable
    assert error.value.message == (
        "Tracker did not accept Herald's credentials (refused with 401)."
        " An admin should check TRACKER_TOKEN."
    )


async def test_a_4xx_shows_the_services_own_reason(server: Scripted, client: ServiceClient) -> None:
    server.answers = [(422, {})]
    with pytest.raises(ServiceError) as error:
        await client.request("POST", "items.json", data={})
    assert error.value.message == "refused with 422"
    assert error.value.status == 422


async def test_remaining_quota_slows_the_next_request(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [
        (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 0.5)})
    ]
    await client.request("GET", "a")
    assert client.limiter.delay() > 0.3


async def test_a_request_the_limiter_would_hold_too_long_fails_at_once(
    server: Scripted, client: ServiceClient
) -> None:
    server.answers = [
        (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + 30))})
    ]
    await client.request("GET", "a")
    started = time.monotonic()
    with pytest.raises(ServiceError) as error:
        await client.request("GET", "b")
    assert time.monotonic() - started < 0.5, "the caller is told at once, not held for 30 s"
    assert error.value.retryable
    assert error.value.retry_after == pytest.approx(30, abs=1.5)
    assert error.value.message == "Tracker is busy right now (too many requests)."
    assert len(server.calls) == 1


async def test_a_429_whose_reset_already_passed_still_pauses(
    server: Scripted, client: ServiceClient
) -> None:
    past = str(int(time.time() - 5))  # the server's clock is behind ours
    server.answers = [(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": past})]
    started = time.monotonic()
    await client.request("GET", "a")
    assert len(server.calls) == 2
    assert time.monotonic() - started >= 0.5, "no tight loop of retries"


async def test_the_token_never_reaches_the_log(
    server: Scripted, client: ServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    server.answers = [(500, {})] * 3 + [("hang", {})] * 3
    for _ in range(2):
        with pytest.raises(ServiceError):
            await client.request("GET", "items.json?access_token=very-secret-token")
    assert caplog.records
    assert "very-secret-token" not in caplog.text


def test_retry_after_reads_seconds_dates_and_reset_headers() -> None:
    request = httpx.Request("GET", "http://x")
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"}, request=request)) == 7
    dated = httpx.Response(
        429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, request=request
    )
    assert retry_after(dated, now=1792567670.0) == 10
    reset = httpx.Response(429, headers={"X-RateLimit-Reset": "1000000100"}, request=request)
    assert retry_after(reset, now=1000000000.0) == 100
    assert retry_after(httpx.Response(429, request=request)) is None


@pytest.mark.parametrize(
    "header", ["soon", "Mon, 99 Foo 2026 99:99:99 GMT", "nan", "inf", "Wed, 21 Oct 2026 07:28:00"]
)
def test_an_unparsable_retry_after_is_ignored(header: str) -> None:
    request = httpx.Request("GET", "http://x")
    response = httpx.Response(429, headers={"Retry-After": header}, request=request)
    assert retry_after(response) is None


def test_a_server_given_wait_is_capped_at_15_minutes() -> None:
    request = httpx.Request("GET", "http://x")
    huge = httpx.Response(429, headers={"Retry-After": "86400000"}, request=request)
    assert retry_after(huge) == 15 * 60
    far_reset = httpx.Response(429, headers={"X-RateLimit-Reset": "4000000000"}, request=request)
    assert retry_after(far_reset, now=1000000000.0) == 15 * 60


async def test_rate_limiter_bucket_and_server_quota() -> None:
    now = [1000.0]
    limiter = RateLimiter(rate=60, per=60, burst=10, clock=lambda: now[0])
    for _ in range(10):
        await limiter.acquire()
    assert limiter.delay() == pytest.approx(1.0), "the burst is spent: one per second after it"

    limiter = RateLimiter(rate=60, per=60, burst=10, clock=lambda: now[0])
    limiter.observe(remaining=0, reset_in=5)
    assert limiter.delay() == pytest.approx(5), "the server says none are left until the reset"

    limiter = RateLimiter(rate=60, per=60, burst=10, clock=lambda: now[0])
    await limiter.acquire()
    limiter.observe(remaining=10, reset_in=20)
    assert limiter.delay() == pytest.approx(2.0), "10 left for 20 s: one every 2 s"


def test_rate_limiter_try_acquire_takes_a_free_place_or_none() -> None:
    now = [1000.0]
    limiter = RateLimiter(rate=6, per=60, burst=1, clock=lambda: now[0])
    assert limiter.try_acquire() is True
    assert limiter.try_acquire() is False, "no waiting: the optional work is skipped"
    now[0] += 10
    assert limiter.try_acquire() is True, "one place every 10 s"


def test_redaction_masks_secrets_in_messages_and_tracebacks() -> None:
    redactor = RedactSecrets()
    redactor.add(["hunter2-token"])
    try:
        raise ValueError("bad token hunter2-token")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, "f", 1, "auth %s", ("hunter2-token",), sys.exc_info()
        )
    redactor.filter(record)
    assert "hunter2-token" not in record.getMessage()
    assert "hunter2-token" not in (record.exc_text or "")
