"""The words of a health check: the port an image listens on against the app's, each answer,
when waiting cannot help, and the one sentence a failed check ends with."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.health import (
    LastProbe,
    answer_text,
    cannot_change,
    gives_up,
    health_failure,
    port_mismatch,
    probe_line,
    repeats_line,
)
from rivetr.domain.settings import HealthCheck, HealthCheckInput

CHECK = HealthCheck(path="/healthz", boot_deadline_s=30)


def test_a_port_the_image_does_not_expose_is_said_in_one_sentence() -> None:
    assert port_mismatch([8080], 3000) == "the image listens on 8080; the app is set to 3000"
    assert port_mismatch([9090, 8080, 8080], 3000) == (
        "the image listens on 8080 and 9090; the app is set to 3000"
    )
    assert port_mismatch([80, 443, 8080], 3000) == (
        "the image listens on 80, 443 and 8080; the app is set to 3000"
    )


@pytest.mark.parametrize("exposed", [None, [], [3000], [3000, 8080]])
def test_nothing_is_said_when_the_image_exposes_the_port_or_nothing_is_known(
    exposed: list[int] | None,
) -> None:
    assert port_mismatch(exposed, 3000) is None


def test_answers_are_said_with_their_reason_phrase_or_the_networks_word() -> None:
    assert answer_text(404, "expected 200, got 404") == "404 Not Found"
    assert answer_text(599, None) == "599"
    assert answer_text(None, "connection refused") == "connection refused"
    assert probe_line(3, "http://127.0.0.1:1/healthz", 404, None) == (
        "probe 3: GET http://127.0.0.1:1/healthz → 404 Not Found"
    )
    assert repeats_line(2, 30, None, "connection reset") == (
        "probes 2–30: connection reset (same as above)"  # noqa: RUF001
    )
    assert repeats_line(2, 2, 503, None) == "probe 2: 503 Service Unavailable (same as above)"


@pytest.mark.parametrize(
    ("status", "final"),
    [
        *[(400, True), (401, True), (404, True), (410, True), (499, True), (408, False)],
        *[(429, False), (500, False), (503, False), (302, False), (None, False)],
    ],
)
def test_only_a_4xx_other_than_408_and_429_cannot_change_by_waiting(
    status: int | None, final: bool
) -> None:
    assert cannot_change(status) is final


def test_the_check_gives_up_on_the_same_final_answer_n_times_in_a_row() -> None:
    assert not gives_up([404, 404], CHECK)
    assert gives_up([404, 404, 404], CHECK)
    assert gives_up([None, 503, 404, 404, 404], CHECK)
    assert not gives_up([404, 401, 404], CHECK)
    assert not gives_up([429, 429, 429, 429], CHECK)
    assert gives_up([404], HealthCheck(give_up_after_4xx=1))


@given(st.lists(st.sampled_from([None, 200, 404, 429, 503]), max_size=12), st.integers(1, 5))
def test_giving_up_needs_n_equal_final_answers_at_the_end(
    statuses: list[int | None], n: int
) -> None:
    check = HealthCheck(give_up_after_4xx=n)
    tail = statuses[-n:]
    expected = len(tail) == n and len(set(tail)) == 1 and tail[0] == 404
    assert gives_up(statuses, check) is expected


@pytest.mark.parametrize("bad", [0, -1, 1001])
def test_the_give_up_count_is_validated(bad: int) -> None:
    with pytest.raises(msgspec.ValidationError, match="give_up_after_4xx"):
        msgspec.convert({"give_up_after_4xx": bad}, HealthCheckInput)


def test_an_app_without_the_path_is_told_to_set_one_it_serves() -> None:
    last = LastProbe(status=404, error="expected 200, got 404", gave_up=True)

    assert health_failure(CHECK, 3000, last) == (
        "the health check GET /healthz on port 3000 answered 404 Not Found 3 times in a row:"
        " the app has no such path; set the health path to one it serves"
    )


def test_no_answer_until_the_deadline_names_the_networks_word() -> None:
    last = LastProbe(status=None, error="connection refused")

    assert health_failure(CHECK, 3000, last) == (
        "the health check GET /healthz on port 3000 got no HTTP answer within 30 s:"
        " connection refused"
    )


def test_a_port_mismatch_leads_the_failure_with_what_the_probe_got() -> None:
    last = LastProbe(status=None, error="connection closed without a response")
    mismatch = port_mismatch([8080], 3000)

    reason = health_failure(CHECK, 3000, last, mismatch)

    assert reason.startswith("the image listens on 8080; the app is set to 3000, so ")
    assert "connection closed without a response" in reason


def test_an_exited_container_is_said_so() -> None:
    reason = health_failure(CHECK, 8080, LastProbe(status=None, error=None, exited=True))

    assert "the container exited" in reason
