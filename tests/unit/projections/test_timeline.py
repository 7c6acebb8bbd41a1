"""The timeline of a deployment: every step told, a run of identical probes as one row after its
first, and a port the image does not listen on noted on the build's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.projections.deployments import StepView
from rivetr.projections.timeline import timeline

URL = "http://127.0.0.1:32768/healthz"
START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def step(position: int, type_: str, **detail: Any) -> StepView:
    at = (START + timedelta(seconds=position)).isoformat()
    return StepView(
        position=position,
        type=f"deployment.{type_}",
        recorded_at=at,
        actor="system:deployer",
        detail=detail,
    )


def probe(position: int, attempt: int, status: int | None, error: str | None = None) -> StepView:
    ok = status == 200
    return step(
        position, "health_probed", attempt=attempt, ok=ok, status=status, error=error, url=URL
    )


def test_thirty_refused_probes_are_the_first_and_one_row_for_the_rest() -> None:
    steps = [step(1, "container_started")]
    steps += [probe(1 + n, n, None, "connection refused") for n in range(1, 31)]
    steps.append(step(40, "failed", step="health", reason="r"))

    rows = timeline(steps)

    assert [row.count for row in rows] == [1, 1, 29, 1]
    assert rows[1].text == f"probe 1: GET {URL} → connection refused"
    assert rows[2].text == "probes 2–30: connection refused (same as above)"  # noqa: RUF001
    assert rows[2].span_s == 28.0
    assert rows[2].took_s == 1.0  # from probe 1 to probe 2
    assert rows[3].took_s == 9.0  # from probe 30 to the failure


def test_a_changed_answer_starts_a_row_of_its_own() -> None:
    steps = [probe(1, 1, None, "connection refused"), probe(2, 2, None, "connection refused")]
    steps += [probe(3 + n, 3 + n, 404) for n in range(4)] + [probe(9, 7, 200)]

    rows = timeline(steps)

    assert [row.text for row in rows] == [
        f"probe 1: GET {URL} → connection refused",
        f"probe 2: GET {URL} → connection refused",
        f"probe 3: GET {URL} → 404 Not Found",
        "probes 4–6: 404 Not Found (same as above)",  # noqa: RUF001
        f"probe 7: GET {URL} → 200 OK",
    ]
    assert [row.mark for row in rows] == ["bad", "bad", "bad", "bad", "ok"]


def test_the_build_row_notes_a_port_the_image_does_not_listen_on() -> None:
    built = step(1, "image_built", image="rivetr/web:d1", exposed_ports=[8080], port=3000)
    fine = step(2, "image_built", image="rivetr/web:d2", exposed_ports=[3000], port=3000)
    older = step(3, "image_built", image="rivetr/web:d3")

    notes = [row.note for row in timeline([built, fine, older])]

    assert notes == ["the image listens on 8080; the app is set to 3000", None, None]


def test_a_probe_of_an_older_log_without_its_url_says_what_came_back() -> None:
    older = step(1, "health_probed", attempt=1, ok=False, status=503, error="expected 200")

    assert timeline([older])[0].text == "probe 1: 503 Service Unavailable"


answers = st.sampled_from([(None, "connection refused"), (404, None), (503, None), (200, None)])


@given(st.lists(st.one_of(answers, st.just("other")), max_size=40))
@settings(max_examples=200, deadline=None)
def test_every_step_is_told_once_in_order_and_only_alike_probes_share_a_row(
    kinds: list[Any],
) -> None:
    steps = [
        step(n, "source_fetched", commit_sha="ab") if kind == "other" else probe(n, n, *kind)
        for n, kind in enumerate(kinds, start=1)
    ]

    rows = timeline(steps)

    assert sum(row.count for row in rows) == len(steps)
    firsts = [row.step.position for row in rows]
    assert firsts == sorted(firsts)
    for row in rows:
        start = steps.index(row.step)
        told = steps[start : start + row.count]
        assert len({(s.type, s.detail.get("status"), s.detail.get("error")) for s in told}) == 1
        if row.count > 1:
            assert start > 0  # the first of a run is a row of its own
            assert steps[start - 1].detail == {
                **row.step.detail,
                "attempt": row.step.detail["attempt"] - 1,
            }
