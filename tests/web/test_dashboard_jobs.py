"""The dashboard's scheduled jobs: the app page lists each job with its newest runs (status and
duration, each linking to the run's page); Run now asks for a run through the job service and
shows its page, with its log; a run of another team's app is as absent as the app."""

from __future__ import annotations

import pytest

from rivetr.adapters.logs import job_folder
from tests.web.dashboard_pages import csrf_of
from tests.web.releases import served_stack
from tests.web.test_api_deployments import APP

JOB = {"name": "nightly", "command": ["python", "clean.py"], "schedule": "0 3 * * *"}


@pytest.fixture
def csrf(client, auth) -> str:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    return csrf_of(client.get("/apps/web").text)


def test_the_app_page_lists_jobs_and_run_now_shows_the_runs_page(
    client, auth, csrf, services
) -> None:
    assert 'id="no-jobs"' in client.get("/apps/web").text
    job = client.post("/api/v1/apps/web/jobs", json=JOB, headers=auth).json()
    page = client.get("/apps/web").text
    assert 'data-job="nightly"' in page
    assert "python clean.py" in page
    assert "none yet" in page

    asked = client.post(
        "/apps/web/jobs/nightly/run", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert asked.status_code in (302, 303), asked.text
    run_page = asked.headers["location"]
    run_id = run_page.rsplit("/", 1)[-1]
    services.job_reads.logs.append(job_folder(job["job_id"]), run_id, "job", "cleaned 3 rows")
    shown = client.get(run_page).text
    assert "Run <code>" in shown
    assert "cleaned 3 rows" in shown
    assert f"/api/v1/job-runs/{run_id}/logs/stream" in shown
    listed = client.get("/apps/web").text
    assert f'href="/job-runs/{run_id}"' in listed
    assert "requested" in listed


def test_run_now_without_the_pages_token_runs_nothing(client, auth, csrf, services) -> None:
    client.post("/api/v1/apps/web/jobs", json=JOB, headers=auth)
    refused = client.post("/apps/web/jobs/nightly/run", data={"csrf_token": "stale"})
    assert refused.status_code in (400, 403)
    assert client.get("/api/v1/apps/web/jobs/nightly/runs", headers=auth).json() == []


def test_an_unknown_run_is_absent(client, csrf) -> None:
    assert client.get("/job-runs/aaaaaaaaaaaa").status_code == 404


def test_the_stack_page_lists_its_services_jobs_and_runs_one_now(
    client, auth, call, services
) -> None:
    stack_id, _ = call(served_stack, services, "default")
    client.cookies.set("rivetr_token", auth["Authorization"].removeprefix("Bearer "))
    page = client.get(f"/stacks/{stack_id}").text
    assert 'id="no-jobs"' in page
    assert "--service SERVICE" in page
    base = f"/api/v1/stacks/{stack_id}/services/web/jobs"
    assert client.post(base, json=JOB, headers=auth).status_code == 201
    page = client.get(f"/stacks/{stack_id}").text
    assert 'data-job="nightly"' in page
    assert "(web)" in page

    asked = client.post(
        f"/stacks/{stack_id}/jobs/web/nightly/run",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert asked.status_code in (302, 303), asked.text
    run_page = client.get(asked.headers["location"])
    assert run_page.status_code == 200
    assert f"/stacks/{stack_id}" in run_page.text
    missing = client.post(
        f"/stacks/{stack_id}/jobs/db/nightly/run", data={"csrf_token": csrf_of(page)}
    )
    assert missing.status_code in (404, 422)
