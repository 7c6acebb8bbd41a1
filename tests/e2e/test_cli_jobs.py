"""`rivetr jobs` on a data directory, as an operator scripts it: a job made (a shell line, or
argv after --), listed, changed, run now (the run asked for; `rivetr serve` would take it up),
shown with its runs, its run's log read, and deleted; a bad schedule refused naming it, with
exit status 1, and a flag the command cannot take with 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rivetr.adapters.logs import job_folder
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp
from tests.e2e.conftest import run_cli
from tests.e2e.test_cli_databases import on

pytestmark = pytest.mark.e2e


async def web(services: Any) -> None:
    await services.apps.handle(SYSTEM, CreateApp(name="web", git_url="https://x.test/w.git"))


def jobs(data: Path, *args: str) -> Any:
    return run_cli(data, "jobs", *args)


def test_a_job_is_made_changed_run_shown_and_deleted(tmp_path) -> None:
    data = tmp_path / "data"
    on(data, web)
    made = jobs(data, "create", "nightly", "--app", "web", "--schedule", "@daily", "--shell",
                "echo $GREETING", "--retries", "2", "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    job = json.loads(made.stdout)
    assert (job["schedule"], job["command"], job["retries"]) == ("0 0 * * *", "echo $GREETING", 2)
    listed = jobs(data, "list", "--app", "web")
    assert listed.stdout.split("\t")[:3] == ["nightly", "-", "0 0 * * *"]
    changed = jobs(data, "change", "nightly", "--app", "web", "--overlap", "allow", "--json")
    assert json.loads(changed.stdout)["overlap"] == "allow"

    ran = jobs(data, "run", "nightly", "--app", "web", "--json")
    assert ran.returncode == 0, ran.stderr
    run = json.loads(ran.stdout)
    assert (run["status"], run["trigger"]) == ("requested", "manual")
    shown = jobs(data, "show", "nightly", "--app", "web")
    assert run["run_id"] in shown.stdout

    async def wrote(services: Any) -> None:
        services.job_reads.logs.append(job_folder(job["job_id"]), run["run_id"], "job", "hi")

    on(data, wrote)
    assert jobs(data, "log", run["run_id"]).stdout == "job| hi\n"
    assert jobs(data, "delete", "nightly", "--app", "web").returncode == 0
    assert jobs(data, "list", "--app", "web").stdout == ""


def test_bad_input_is_refused(tmp_path) -> None:
    data = tmp_path / "data"
    on(data, web)
    bad = jobs(data, "create", "n", "--app", "web", "--schedule", "61 * * * *", "--shell", "true")
    assert bad.returncode == 1
    assert "minute field '61'" in bad.stderr
    neither = jobs(data, "create", "n", "--app", "web", "--schedule", "@daily")
    assert neither.returncode == 2
    assert "--shell" in neither.stderr
    words = jobs(data, "create", "w", "--app", "web", "--schedule", "@daily", "--argv",
                 "python 'my script.py' --all", "--json")  # fmt: skip
    assert json.loads(words.stdout)["command"] == ["python", "my script.py", "--all"]
    no_service = jobs(data, "list", "--stack", "blog")
    assert no_service.returncode == 2
