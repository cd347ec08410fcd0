"""Errors whose message is safe, and meant, to be shown to the person who asked."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix or should know; the message is shown as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServiceError(UserError):
    """An upstream service refused or failed a call.

    `retryable` is true for outages (5xx, 429, timeouts, network errors): the
    same request may succeed later. A 4xx is the service's verdict on the
    request itself and is not retried. `ambiguous` means the request may
    have taken effect although no answer said so (a timeout, 502 or 504 after
    a POST reached the server): look for what it would have created before
    sending it again.
    """

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class StartError(Exception):
    """Herald cannot start; the message says what to fix, in one line."""


class DeliveryError(Exception):
    """A platform did not take a message.

    `permanent` means trying again cannot help (channel deleted or archived,
    DMs closed, the edited message gone); otherwise retry, after
    `retry_after` when given. `bad_message` narrows a permanent failure to
    this one message (the platform refused its content): the destination
    itself is fine. `access_lost` means Herald may not post there for now
    (missing access or permission): worth trying again, slowly, since an
    admin can give it back. `ambiguous` means the message may have been
    delivered anyway (the answer was lost), so look before posting again.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        bad_message: bool = False,
        access_lost: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or bad_message
        self.retry_after = retry_after
        self.bad_message = bad_message
        self.access_lost = access_lost
        self.ambiguous = ambiguous
