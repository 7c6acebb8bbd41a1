"""What an attacker tried against a real `rivetr serve`: each answer is a clear 4xx problem (or
403) before any work, never a 5xx or a stream cut off after its 200, and the service keeps
working; and the data directory it makes is its own user's only."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, create_admin, run_cli

pytestmark = pytest.mark.e2e

ENV = {"RIVETR_ENGINE": "none"}
HUGE = "99999999999999999999"
PASSWORD = "a long enough password"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def served(tmp_path: Path, server_factory: type[Server]) -> tuple[Server, dict[str, str]]:
    data = tmp_path / "data"
    server = server_factory(data, ENV).start()  # rivetr serve makes the data directory
    minted = run_cli(data, "tokens", "create", "--name", "attacker")
    assert minted.returncode == 0, minted.stderr
    return server, {"Authorization": f"Bearer {minted.stdout.strip()}"}


def still_works(server: Server, auth: dict[str, str]) -> None:
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
    assert httpx.get(f"{server.url}/api/v1/apps", headers=auth).status_code == 200


def test_the_data_directory_serve_makes_is_owner_only(served: tuple[Server, dict[str, str]]):
    server, auth = served
    made = httpx.post(f"{server.url}/api/v1/apps", json={"name": "web"}, headers=auth)
    assert made.status_code == 201, made.text
    data = server.data_dir

    assert mode(data) == 0o700
    for name in ("events.db", "read.db"):
        for suffix in ("", "-wal", "-shm"):  # WAL mode: both exist while the service runs
            assert mode(data / f"{name}{suffix}") == 0o600, f"{name}{suffix}"


def test_an_older_data_directory_is_tightened_at_start(tmp_path: Path, server_factory):
    data = tmp_path / "data"
    assert run_cli(data, "tokens", "create", "--name", "x").returncode == 0
    old_log = data / "logs" / "web" / "d1.log"
    old_log.parent.mkdir(parents=True)
    old_log.write_text("build| a secret printed by a build\n")
    (data / "certs").mkdir()
    for path, loose in ((data / "events.db", 0o644), (data / "logs", 0o755), (old_log, 0o644)):
        path.chmod(loose)
    (data / "logs" / "web").chmod(0o755)
    (data / "certs").chmod(0o755)

    server_factory(data, ENV).start()

    assert mode(data / "events.db") == 0o600
    assert [mode(p) for p in (data / "logs", data / "logs" / "web", data / "certs")] == [0o700] * 3
    assert mode(old_log) == 0o600


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"/api/v1/events/stream?after={HUGE}", {}),
        ("/api/v1/events/stream", {"Last-Event-ID": HUGE}),
        ("/api/v1/events/stream?after=1000000", {}),  # beyond the log's end
    ],
)
def test_a_stream_from_a_position_that_cannot_be_is_refused_before_it_starts(
    served: tuple[Server, dict[str, str]], path: str, headers: dict[str, str]
) -> None:
    server, auth = served
    with httpx.stream("GET", server.url + path, headers={**auth, **headers}) as answer:
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/problem+json"
        answer.read()
        assert answer.json()["status"] == 400
    still_works(server, auth)
    live = {**auth, "Accept": "text/event-stream"}
    with httpx.stream("GET", f"{server.url}/api/v1/events/stream?after=0", headers=live) as ok:
        assert ok.status_code == 200


def test_deeply_nested_json_is_a_bad_request(served: tuple[Server, dict[str, str]]) -> None:
    server, auth = served
    deep = "[" * 20_000 + "]" * 20_000
    answer = httpx.post(
        f"{server.url}/api/v1/apps",
        content=deep,
        headers={**auth, "Content-Type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.json()["detail"] == "the body's JSON is nested too deeply"
    still_works(server, auth)


def test_a_non_ascii_csrf_token_is_refused_not_an_error(tmp_path: Path, server_factory) -> None:
    data = tmp_path / "data"
    create_admin(data, "ann@example.com", PASSWORD)
    server = server_factory(data, ENV).start()
    with httpx.Client(base_url=server.url) as browser:
        browser.get("/login")  # the sign-in form: its token comes from the page
        sent = browser.post("/login", data={"form_token": "é" * 32, "email": "a@b.example"})
        assert sent.status_code == 403
        assert "This form has expired" in sent.text
        login = {"email": "ann@example.com", "password": PASSWORD}
        assert browser.post("/api/v1/auth/login", json=login).status_code == 200
        # the header's raw bytes, as an attacker sends them (httpx would refuse the str)
        answer = browser.post(
            "/api/v1/apps", json={"name": "x"}, headers=[(b"X-CSRF-Token", "é".encode())]
        )
        assert answer.status_code == 403
        assert "X-CSRF-Token" in answer.json()["detail"]
        assert browser.get("/api/v1/apps").status_code == 200
