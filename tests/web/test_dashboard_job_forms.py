"""The app's jobs page: a developer adds a job (a bad schedule or time zone is refused naming
the field, with what was typed shown again), pauses, resumes and removes it; a viewer reads the
jobs without a form or a button."""

from __future__ import annotations

from tests.web.dashboard_pages import csrf_of
from tests.web.page_parts import problem
from tests.web.test_api_deployments import APP


def test_a_developer_adds_pauses_resumes_and_removes_a_job(
    client, auth, member, session_headers, log_types
) -> None:
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    member("dev@example.com", "developer")
    session_headers("dev@example.com")
    page = client.get("/apps/web/jobs")
    assert page.status_code == 200
    assert 'id="add-job"' in page.text
    token = csrf_of(page.text)
    job = {
        "csrf_token": token,
        "name": "nightly",
        "command": "python manage.py clearsessions",
        "schedule": "0 3 * * 8",
        "time_zone": "Mars/Olympus",
    }

    refused = client.post("/apps/web/jobs", data=job)
    assert refused.status_code == 422
    assert problem(refused.text, "schedule") or problem(refused.text, "time_zone")
    assert 'value="python manage.py clearsessions"' in refused.text
    assert "job.created" not in log_types()

    made = client.post(
        "/apps/web/jobs",
        data=job | {"schedule": "0 3 * * *", "time_zone": "Europe/Berlin", "retries": "2"},
        follow_redirects=True,
    )
    assert made.status_code == 200, made.text
    assert 'data-job="nightly"' in made.text
    assert "Europe/Berlin" in made.text
    assert "2 retries" in made.text

    paused = client.post(
        "/apps/web/jobs/nightly/pause", data={"csrf_token": token}, follow_redirects=True
    )
    assert "disabled" in paused.text
    assert 'id="resume-nightly"' in paused.text
    resumed = client.post(
        "/apps/web/jobs/nightly/resume", data={"csrf_token": token}, follow_redirects=True
    )
    assert 'id="pause-nightly"' in resumed.text
    removed = client.post(
        "/apps/web/jobs/nightly/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert 'data-job="nightly"' not in removed.text
    assert log_types().count("job.changed") == 2
    assert "job.deleted" in log_types()
    assert client.get("/apps/web").text.count('id="manage-jobs"') == 1


def test_a_viewer_reads_the_jobs_without_forms(client, auth, member, session_headers) -> None:
    assert client.post("/api/v1/apps", json=APP, headers=auth).status_code == 201
    nightly = {"name": "nightly", "command": "true", "schedule": "@daily"}
    assert client.post("/api/v1/apps/web/jobs", json=nightly, headers=auth).status_code == 201
    member("view@example.com", "viewer")
    session_headers("view@example.com")
    page = client.get("/apps/web/jobs")
    assert page.status_code == 200
    assert 'data-job="nightly"' in page.text
    assert 'id="add-job"' not in page.text
    assert 'id="remove-nightly"' not in page.text
    assert "Run now" not in page.text
    assert client.get("/apps/nope/jobs").status_code == 404
