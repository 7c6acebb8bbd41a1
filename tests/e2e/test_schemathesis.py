"""Schemathesis against a real `rivetr serve`: requests generated from its OpenAPI schema, valid
and not, for every operation, as a signed-in person, as an admin token and as nobody. Every
answer must be one the schema lists (status, media type, body, headers), none a 5xx; a request
the schema allows must not be refused as invalid (400), nor one it forbids be taken.

Bounded: a fixed number of cases per operation and steps per stateful scenario, one worker,
a fixed seed (a failure replays), and a hard time limit. Left out:
- streams (SSE) for those who may read them: a 200 there is live and never ends. Their
  refusals are tried by test_hostile_input.py; nobody's requests to them are tried here.
- ordering a certificate: it would ask an ACME CA on the internet (the directory is pointed
  at a closed local port besides). Deploying is in: with `--engine none` it fails at once.
- what would end the run's own credential (its sign-out, revoking its own token or session):
  the rest of the run would then prove only that 401 is documented."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from tests.e2e.conftest import Server, create_admin, run_cli

pytestmark = pytest.mark.e2e

ENV = {"RIVETR_ENGINE": "none", "RIVETR_ACME_DIRECTORY_URL": "http://127.0.0.1:9/directory"}
EMAIL = "owner@example.com"
PASSWORD = "a long enough password"
SEED = 14
# nobody is answered 401 before a body is read: more of its cases would try the same check;
# the admin token reaches what the session does (fuzzed fully there), by another scheme
EXAMPLES = {"session": 25, "admin token": 10, "nobody": 5}
RUN_LIMIT_S = 600  # a hung run fails instead of holding CI; a run takes well under a minute

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]
# A valid request may still be refused by what it asks: the domain's 409 and 422 (no git URL
# to deploy from), a sign-in throttled (429). Never 400: that says the request was malformed.
CONFIG = """
[cache]
enabled = false

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[phases.stateful]
max-steps = 6

# what asks the container engine (or a registry through it): the instance served here has
# none, so a valid request is answered by the documented 502 that says so
[[operations]]
include-name = [
  "POST /api/v1/servers/swarm",
  "POST /api/v1/servers/invitations",
  "POST /api/v1/servers/joins",
  "PATCH /api/v1/servers/{server}",
  "DELETE /api/v1/servers/{server}",
  "PUT /api/v1/servers/swarm/registry",
  "POST /api/v1/servers/swarm/registry/hosted",
  "DELETE /api/v1/servers/swarm/registry/hosted",
  "PUT /api/v1/servers/swarm/build-node",
]
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "502"]
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "401", "403", "404", "409", "422", "429", "502"
]
"""
STREAMS = r"/stream$"
NEVER = [
    "POST /api/v1/apps/{name}/certificates/{domain}/acme",
    # the instance served here has no container engine: a database's output is its documented
    # 503 there, which the server-error check cannot tell from a crash
    "GET /api/v1/databases/{database_id}/logs",
]
OWN_CREDENTIAL = {
    "session": ["POST /api/v1/auth/logout", "DELETE /api/v1/sessions/{session_id}"],
    "admin token": ["DELETE /api/v1/tokens/{token_id}"],
    "nobody": [],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("schemathesis") / "data"
    create_admin(data, EMAIL, PASSWORD)
    server = Server(data, ENV).start()
    yield server
    server.stop(kill=True)


class Credential(NamedTuple):
    auth: str  # the [auth] section of the run's configuration: which security scheme, and how
    headers: dict[str, str]  # the same, as a client sends it


def credential(server: Server, caller: str) -> Credential:
    """A fresh credential for each run, made just before it: an earlier run may have ended
    the one before (an admin may revoke any token, end any session). Given to Schemathesis as
    the schema's security scheme, so that its `ignored_auth` check knows what to leave out."""
    if caller == "session":
        login = {"email": EMAIL, "password": PASSWORD}
        signed = httpx.post(f"{server.url}/api/v1/auth/login", json=login)
        assert signed.status_code == 200, signed.text
        secret, csrf = signed.cookies["rivetr_session"], signed.json()["csrf_token"]
        return Credential(
            f'[auth.openapi.session]\napi_key = "{secret}"\n'
            f'[auth.openapi.csrf]\napi_key = "{csrf}"\n',
            {"Cookie": f"rivetr_session={secret}", "X-CSRF-Token": csrf},
        )
    if caller == "admin token":
        minted = run_cli(server.data_dir, "tokens", "create", "--name", "schemathesis")
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        return Credential(
            f'[auth.openapi.bearer]\nbearer = "{token}"\n', {"Authorization": f"Bearer {token}"}
        )
    return Credential("", {})


def schemathesis(server: Server, caller: str, signed: Credential, work: Path) -> dict[str, Any]:
    """Run `st run` on the served schema; its JSON report."""
    config = work / "schemathesis.toml"
    config.write_text(CONFIG + signed.auth)
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        f"{server.url}/schema/openapi.json",
        *("--checks", ",".join(CHECKS)),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(EXAMPLES[caller]), "--seed", str(SEED), "--workers", "1"),
        *("--request-timeout", "10", "--no-shrink", "--suppress-health-check", "all"),
        *("--report", "json", "--report-json-path", str(work / "report.json")),
        *(arg for name in NEVER + OWN_CREDENTIAL[caller] for arg in ("--exclude-name", name)),
        *(("--exclude-path-regex", STREAMS) if signed.headers else ()),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=RUN_LIMIT_S, cwd=work)
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
    return json.loads((work / "report.json").read_text())


# the signed-in run first: those after it throttle sign-ins from this address for a minute
@pytest.mark.parametrize("caller", ["session", "admin token", "nobody"])
def test_every_answer_is_one_the_schema_describes(
    served: Server, caller: str, tmp_path: Path
) -> None:
    signed = credential(served, caller)

    report = schemathesis(served, caller, signed, tmp_path)

    assert report["failures"] == []
    assert report["errors"] == []
    phases = [name for name, phase in report["phases"].items() if phase["status"] != "skip"]
    print(  # the figures of the run, for the record (pytest -s)
        f"{caller}: {report['operations']['tested']} operations,"
        f" {report['test_cases']['generated']} requests in {report['running_time']:.0f} s"
        f" ({', '.join(phases)})"
    )
    if signed.headers:  # the credential lasted the run: its answers were not all 401
        still = httpx.get(f"{served.url}/api/v1/apps", headers=signed.headers)
        assert still.status_code == 200, still.text
