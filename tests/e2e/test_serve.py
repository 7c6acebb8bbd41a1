"""The service as a user runs it: `rivetr serve` plus the CLI beside it, over real HTTP."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import rivetr_command, run_cli

pytestmark = pytest.mark.e2e

NO_ENGINE = {"RIVETR_ENGINE": "docker", "RIVETR_ENGINE_URL": "unix:///nonexistent/docker.sock"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_minted_by_the_cli_works_against_the_running_service(tmp_path, server_factory):
    data = tmp_path / "data"
    server = server_factory(data, NO_ENGINE).start()
    minted = run_cli(data, "tokens", "create", "--name", "ci-bot")
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert token.startswith("rvt_")
    assert "shown only once" in minted.stderr

    created = httpx.post(
        f"{server.url}/api/v1/apps",
        json={"name": "shop", "git_url": "https://example.com/shop.git", "env": {"KEY": "s3cr3t"}},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text

    exported = run_cli(data, "events", "export")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    created_event = next(line for line in lines if line["type"] == "app.created")
    assert created_event["actor"] == "token:ci-bot"
    assert token not in exported.stdout  # only the token's hash is ever recorded


def test_state_survives_sigkill_and_a_deleted_read_model(tmp_path, server_factory):
    data = tmp_path / "data"
    token = run_cli(data, "tokens", "create", "--name", "me").stdout.strip()
    server = server_factory(data, NO_ENGINE).start()
    for name in ("alpha", "beta", "gamma"):
        response = httpx.post(
            f"{server.url}/api/v1/apps", json={"name": name, "port": 3000}, headers=bearer(token)
        )
        assert response.status_code == 201
    httpx.delete(f"{server.url}/api/v1/apps/beta", headers=bearer(token))
    httpx.patch(f"{server.url}/api/v1/apps/gamma", json={"port": 4000}, headers=bearer(token))
    before = httpx.get(f"{server.url}/api/v1/apps", headers=bearer(token)).json()
    server.stop(kill=True)

    for leftover in data.glob("read.db*"):
        leftover.unlink()
    again = server_factory(data, NO_ENGINE).start()
    after = httpx.get(f"{again.url}/api/v1/apps", headers=bearer(token)).json()
    assert after == before
    assert [app["name"] for app in after] == ["alpha", "gamma"]
    assert after[1]["port"] == 4000

    verified = run_cli(data, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "hash chain intact" in verified.stdout


def test_service_starts_without_an_engine_and_says_so(tmp_path, server_factory):
    server = server_factory(tmp_path / "data", NO_ENGINE).start()
    health = httpx.get(f"{server.url}/api/v1/health").json()
    assert health["engine"]["available"] is False
    assert "nonexistent" in health["engine"]["detail"]
    page = httpx.get(f"{server.url}/login")
    assert "Container engine unavailable" in page.text
    lines = [line for line in server.output().splitlines() if "engine unavailable" in line]
    assert len(lines) == 1, server.output()


def test_bad_config_value_stops_start_up_with_one_line_naming_the_key(tmp_path):
    result = run_cli(tmp_path, "serve", "--data-dir", str(tmp_path), env={"RIVETR_PORT": "eighty"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'port'" in lines[0]
    assert "RIVETR_PORT" in lines[0]


def test_bad_key_in_rivetr_toml_names_the_key(tmp_path):
    (tmp_path / "rivetr.toml").write_text('port = 9000\nlisten_adress = "0.0.0.0"\n')
    result = run_cli(tmp_path, "serve", "--config", str(tmp_path / "rivetr.toml"))
    assert result.returncode == 2
    assert "listen_adress" in result.stderr


def test_audit_verify_names_the_first_tampered_position(tmp_path):
    data = tmp_path / "data"
    for name in ("a", "b", "c"):
        assert run_cli(data, "tokens", "create", "--name", name).returncode == 0
    exported = run_cli(data, "events", "export").stdout.splitlines()
    tampered = json.loads(exported[1])
    tampered["data"]["name"] = "mallory"
    exported[1] = json.dumps(tampered)
    file = tmp_path / "tampered.jsonl"
    file.write_text("\n".join(exported) + "\n")
    result = run_cli(data, "audit", "verify", "--file", str(file))
    assert result.returncode == 1
    assert "position 2" in result.stderr

    intact = tmp_path / "intact.jsonl"
    intact.write_text(run_cli(data, "events", "export").stdout)
    assert run_cli(data, "audit", "verify", "--file", str(intact)).returncode == 0


def test_events_table_refuses_update_and_delete(tmp_path):
    data = tmp_path / "data"
    run_cli(data, "tokens", "create", "--name", "x")
    conn = sqlite3.connect(Path(data) / "events.db")
    for statement in ("UPDATE events SET actor = 'mallory'", "DELETE FROM events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()


def test_csv_export_and_after(tmp_path):
    data = tmp_path / "data"
    for name in ("a", "b", "c"):
        run_cli(data, "tokens", "create", "--name", name)
    csv_out = run_cli(data, "events", "export", "--format", "csv", "--after", "1").stdout
    rows = csv_out.strip().splitlines()
    assert rows[0].startswith("position,stream_id,version,type")
    assert [row.split(",")[0] for row in rows[1:]] == ["2", "3"]


def test_projections_rebuild_from_the_cli(tmp_path):
    data = tmp_path / "data"
    run_cli(data, "tokens", "create", "--name", "a")
    result = run_cli(data, "projections", "rebuild", "tokens")
    assert result.returncode == 0, result.stderr
    assert "up to position 1" in result.stdout
    unknown = run_cli(data, "projections", "rebuild", "nope")
    assert unknown.returncode == 2
    assert "nope" in unknown.stderr


def test_secrets_rotate_seals_every_apps_secrets_with_a_new_key(tmp_path, server_factory):
    data = tmp_path / "data"
    token = run_cli(data, "tokens", "create", "--name", "me").stdout.strip()
    server = server_factory(data, NO_ENGINE).start()
    body = {"name": "shop", "env": {"STRIPE_KEY": "sk_live_rotate_me"}}
    assert httpx.post(f"{server.url}/api/v1/apps", json=body, headers=bearer(token)).is_success
    server.stop()
    (key_before,) = (data / "secrets.key").read_text().split()

    rotated = run_cli(data, "secrets", "rotate")

    assert rotated.returncode == 0, rotated.stderr
    assert "sealed the secrets of 1 application(s) again" in rotated.stdout
    keys = (data / "secrets.key").read_text().split()
    assert len(keys) == 2
    assert keys[1] == key_before  # kept, to read the history
    exported = run_cli(data, "events", "export").stdout
    assert "sk_live_rotate_me" not in exported
    last_env = [json.loads(line) for line in exported.splitlines() if '"app.env_changed"' in line]
    new_id = rotated.stdout.split()[2].rstrip(":")
    assert last_env[-1]["data"]["set"]["STRIPE_KEY"].startswith(f"rvs2:{new_id}:")
    again = server_factory(data, NO_ENGINE).start()
    shown = httpx.get(f"{again.url}/api/v1/apps/shop", headers=bearer(token)).json()
    assert shown["env"] == ["STRIPE_KEY"]


def test_the_first_admin_is_created_from_the_cli_and_signs_in(tmp_path, server_factory):
    data = tmp_path / "data"
    bootstrap = run_cli(data, "tokens", "create", "--name", "bootstrap")
    made = subprocess.run(
        rivetr_command(
            "users", "create-admin", "--email", "Owner@Example.com", "--data-dir", str(data)
        ),
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert "created owner@example.com (owner of the default team)" in made.stdout
    token_id = bootstrap.stderr.split()[1]
    assert f"1 earlier token(s) now belong to owner@example.com: {token_id}" in made.stdout
    server = server_factory(data, NO_ENGINE).start()

    with httpx.Client(base_url=server.url) as browser:
        signed = browser.post(
            "/api/v1/auth/login",
            json={"email": "owner@example.com", "password": "a long enough password"},
        )
        assert signed.status_code == 200, signed.text
        csrf = signed.json()["csrf_token"]
        made_app = browser.post(
            "/api/v1/apps", json={"name": "site"}, headers={"X-CSRF-Token": csrf}
        )
        assert made_app.status_code == 201, made_app.text
    exported = run_cli(data, "events", "export").stdout
    assert "a long enough password" not in exported
    assert '"actor":"user:owner@example.com"' in exported.replace(" ", "")
    assert '"type":"token.owner_assigned"' in exported.replace(" ", "")
    assert '"team":"default","source":"session"' in exported.replace(" ", "")
    with httpx.Client(base_url=server.url) as ci:  # the bootstrap token is now the owner's
        listed = ci.get("/api/v1/tokens", headers=bearer(bootstrap.stdout.strip())).json()
        assert [(t["owner"], t["team"]) for t in listed] == [("owner@example.com", "default")]
    second = subprocess.run(
        rivetr_command(
            "users", "create-admin", "--email", "two@example.com", "--data-dir", str(data)
        ),
        input="another long password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "created two@example.com (admin of the default team)" in second.stdout, second.stderr


def test_serve_starts_the_proxy_which_answers_unknown_hosts_with_a_404_page(
    tmp_path, server_factory
):
    server = server_factory(tmp_path / "data").start()

    response = httpx.get(f"{server.proxy_url}/", headers={"Host": "nothing-here.test"})

    assert response.status_code == 404
    assert "nothing-here.test" in response.text
    assert f"proxy on http://127.0.0.1:{server.proxy_port}" in server.output()


def test_a_proxy_port_in_use_is_logged_and_the_service_still_runs(tmp_path, server_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = server_factory(tmp_path / "data", {"RIVETR_PROXY_HTTP_PORT": str(port)})
        server.start()

        assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
        assert f"the proxy cannot listen on 127.0.0.1:{port}" in server.output()
