import pytest

from bot.backoff import MAX_SERVER_DELAY, backoff


def test_the_ceiling_doubles_up_to_the_cap_and_every_wait_is_below_it() -> None:
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (40, 30.0)]:
        waits = [backoff(attempt, first=1.0, cap=30.0) for _ in range(500)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8, "full jitter reaches up to the ceiling"
        assert min(waits) < ceiling * 0.2, "full jitter reaches down to zero"


def test_a_server_given_delay_is_the_floor_but_capped() -> None:
    assert backoff(1, first=0.5, cap=2.0, server_delay=42.0) == 42.0
    assert backoff(1, first=0.5, cap=2.0, server_delay=10**9) == MAX_SERVER_DELAY
    assert backoff(1, first=0.5, cap=2.0, server_delay=0.0) <= 0.5


@pytest.mark.parametrize("attempt", [0, -3])
def test_attempt_below_one_counts_as_the_first(attempt: int) -> None:
    assert all(backoff(attempt, first=1.0, cap=9.0) <= 1.0 for _ in range(100))
