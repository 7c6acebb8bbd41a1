"""The /api/v1 job routes: an app's and a stack service's jobs made, read, changed and deleted;
"run now" answering the run asked for (which waits for the scheduler: the web tests have no
engine); a run and its log by id, whole and as server-sent events; bad input refused with a
problem naming the field; and another team's jobs as absent as its apps."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.logs import job_folder
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.web.releases import served_stack

PROBLEM = "application/problem+json"
JOB = {"name": "nightly", "command": "echo hi", "schedule": "0 3 * * *"}


def app(call: Any, services: Any) -> None:
    call(services.apps.handle, SYSTEM, CreateApp(name="web", git_url="https://x.test/w.git"))


def test_an_apps_job_is_made_read_changed_run_and_deleted(client, auth, call, services) -> None:
    app(call, services)
    made = client.post("/api/v1/apps/web/jobs", json=JOB, headers=auth)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/api/v1/apps/web/jobs/nightly"
    job = made.json()
    assert (job["schedule"], job["time_zone"], job["overlap"], job["kind"]) == (
        "0 3 * * *",
        "UTC",
        "forbid",
        "app",
    )
    listed = client.get("/api/v1/apps/web/jobs", headers=auth).json()
    assert [j["name"] for j in listed] == ["nightly"]
    changed = client.patch(
        "/api/v1/apps/web/jobs/nightly",
        json={"command": ["python", "clean.py"], "overlap": "replace", "retries": 2},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["command"], changed.json()["retries"]) == (["python", "clean.py"], 2)

    asked = client.post("/api/v1/apps/web/jobs/nightly/runs", headers=auth)
    assert asked.status_code == 202, asked.text
    run = asked.json()
    assert (run["status"], run["trigger"]) == ("requested", "manual")
    assert asked.headers["location"] == f"/api/v1/job-runs/{run['run_id']}"
    runs = client.get("/api/v1/apps/web/jobs/nightly/runs", headers=auth).json()
    assert [r["run_id"] for r in runs] == [run["run_id"]]
    detail = client.get("/api/v1/apps/web/jobs/nightly", headers=auth).json()
    assert [r["run_id"] for r in detail["runs"]] == [run["run_id"]]

    services.job_reads.logs.append(job_folder(job["job_id"]), run["run_id"], "job", "hello")
    one = client.get(f"/api/v1/job-runs/{run['run_id']}", headers=auth).json()
    assert (one["job"]["name"], one["log_tail"]) == ("nightly", ["job| hello"])
    text = client.get(f"/api/v1/job-runs/{run['run_id']}/logs", headers=auth)
    assert text.text == "job| hello\n"

    gone = client.delete("/api/v1/apps/web/jobs/nightly", headers=auth)
    assert gone.status_code == 204
    assert client.get("/api/v1/apps/web/jobs", headers=auth).json() == []
    assert client.get(f"/api/v1/job-runs/{run['run_id']}", headers=auth).status_code == 404


def test_a_runs_log_streams_until_the_run_is_over(client, auth, call, services) -> None:
    app(call, services)
    job = client.post("/api/v1/apps/web/jobs", json=JOB, headers=auth).json()
    run = client.post("/api/v1/apps/web/jobs/nightly/runs", headers=auth).json()
    services.job_reads.logs.append(job_folder(job["job_id"]), run["run_id"], "job", "one\ntwo")
    request = call(services.job_reads.read.jobs.run, run["run_id"])
    assert request.status == "requested"
    # the run ends (as the scheduler would record it): the stream then ends with the outcome
    from rivetr.domain.job_events import JobRunFinished
    from rivetr.service.reactors.job_recorder import RunRecorder

    finished = JobRunFinished(
        run_id=run["run_id"],
        job_id=job["job_id"],
        job="nightly",
        owner_id=job["owner_id"],
        owner_name="web",
        outcome="succeeded",
        exit_code=0,
    )
    call(_record, RunRecorder(services.store), services, finished, job["owner_id"])
    with client.stream(
        "GET", f"/api/v1/job-runs/{run['run_id']}/logs/stream", headers=auth
    ) as stream:
        body = "".join(stream.iter_text())
    assert '"text":"one"' in body
    assert '"text":"two"' in body
    assert "event: end\r\ndata: succeeded" in body or "event: end\ndata: succeeded" in body


async def _record(recorder: Any, services: Any, event: Any, owner_id: str) -> None:
    await recorder.record(event.run_id, event, team="default", owner_id=owner_id)
    await services.runner.wait_until(await services.store.head())


def test_bad_input_is_refused_naming_the_field(client, auth, call, services) -> None:
    app(call, services)
    for body, field in [
        ({**JOB, "schedule": "61 * * * *"}, "schedule"),
        ({**JOB, "time_zone": "Mars/Base"}, "time_zone"),
        ({**JOB, "command": "  "}, "command"),
        ({**JOB, "timeout_s": 0}, "timeout_s"),
        ({**JOB, "overlap": "sometimes"}, "overlap"),
        ({**JOB, "app": "other"}, "app"),
    ]:
        answer = client.post("/api/v1/apps/web/jobs", json=body, headers=auth)
        assert answer.status_code in (400, 422), (body, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert field in answer.text, (field, answer.text)
    client.post("/api/v1/apps/web/jobs", json=JOB, headers=auth)
    again = client.post("/api/v1/apps/web/jobs", json=JOB, headers=auth)
    assert again.status_code == 409
    assert "name" in again.text
    missing = client.patch("/api/v1/apps/web/jobs/nope", json={"retries": 1}, headers=auth)
    assert missing.status_code == 404
    assert client.post("/api/v1/apps/nope/jobs", json=JOB, headers=auth).status_code == 404


def test_a_stack_services_jobs(client, auth, call, services) -> None:
    stack_id, _ = call(served_stack, services, "default")
    base = f"/api/v1/stacks/{stack_id}/services"
    unknown = client.post(f"{base}/db/jobs", json=JOB, headers=auth)
    assert unknown.status_code == 422
    assert "service" in unknown.text
    made = client.post(f"{base}/web/jobs", json=JOB, headers=auth)
    assert made.status_code == 201, made.text
    assert (made.json()["kind"], made.json()["service"]) == ("stack", "web")
    assert [j["name"] for j in client.get(f"{base}/web/jobs", headers=auth).json()] == ["nightly"]
    run = client.post(f"{base}/web/jobs/nightly/runs", headers=auth)
    assert run.status_code == 202, run.text
    assert client.delete(f"{base}/web/jobs/nightly", headers=auth).status_code == 204
