"""slack-sdk's connection-error retries, except where a retry could post twice.

slack-sdk's default handler sends a request again when its connection was
refused, reset or closed without an answer. For every call Herald makes that
is harmless but one: a `chat.postMessage` whose connection dropped after
Slack read it may already be in the channel. Those are left to the delivery
worker, which treats the failure as ambiguous and looks for the message's
key in the channel's history before posting again. A connection that was
never made (`ClientConnectorError`) sent nothing, so it is retried as usual.
"""

from __future__ import annotations

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

NOT_REPEATABLE = ("chat.postMessage",)


class UnsentOnlyForPosts(AsyncConnectionErrorRetryHandler):
    """The default handler, but a post is retried only when it surely was not sent."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_REPEATABLE and not isinstance(
            error, ClientConnectorError
        ):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def connection_retry_handlers() -> list[AsyncRetryHandler]:
    """slack-sdk's default handlers, its connection-error one made safe for posts."""
    return [
        UnsentOnlyForPosts() if type(h) is AsyncConnectionErrorRetryHandler else h
        for h in async_default_handlers()
    ]
