"""`rivetr servers registry` on a data directory: set without an account, shown with the
servers, forgotten; an address that is none refused with status 2; an account the engine cannot
try (none here) refused with status 1, its password (from the environment) never printed. And
`rivetr servers join`'s refusals before any engine is asked, over TLS and SSH."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rivetr.bootstrap import opened
from rivetr.config import Settings
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.e2e
NO_ENGINE = {"RIVETR_ENGINE": "none"}


def fresh(data: Path) -> Path:
    """A data directory as `rivetr serve` leaves it the first time."""

    async def make() -> None:
        async with opened(Settings(data_dir=str(data), engine="none", proxy_enabled=False)):
            pass

    asyncio.run(make())
    return data


def test_a_registry_is_set_listed_and_forgotten_from_the_cli(tmp_path: Path) -> None:
    data = fresh(tmp_path / "data")

    made = run_cli(data, "servers", "registry", "10.0.0.1:5000/team", env=NO_ENGINE)

    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "images for the servers go to 10.0.0.1:5000/team (no account)"
    listed = run_cli(data, "servers", "--json", env=NO_ENGINE)
    assert json.loads(listed.stdout)["registry"] == {
        "address": "10.0.0.1:5000/team",
        "username": "",
        "source": "set",
    }
    forgotten = run_cli(data, "servers", "registry", "--clear", env=NO_ENGINE)
    assert forgotten.returncode == 0, forgotten.stderr
    again = run_cli(data, "servers", "registry", "--clear", env=NO_ENGINE)
    assert again.returncode == 1
    assert "no registry was set" in again.stderr


def test_a_bad_address_and_an_untried_account_are_refused(tmp_path: Path) -> None:
    data = fresh(tmp_path / "data")
    bad = run_cli(data, "servers", "registry", "https://r.example.com", env=NO_ENGINE)
    assert bad.returncode == 2
    assert "address" in bad.stderr
    nothing = run_cli(data, "servers", "registry", env=NO_ENGINE)
    assert nothing.returncode == 2
    assert "name the registry" in nothing.stderr

    env = {**NO_ENGINE, "RIVETR_REGISTRY_PASSWORD": "s3cret-pass"}
    untried = run_cli(data, "servers", "registry", "r.example.com", "--username", "u", env=env)

    assert untried.returncode == 1
    assert "the account was not taken by r.example.com" in untried.stderr
    assert "s3cret-pass" not in untried.stdout + untried.stderr
    assert json.loads(run_cli(data, "servers", "--json", env=NO_ENGINE).stdout)["registry"] is None


def test_a_registry_run_here_is_refused_clearly_without_a_swarm(tmp_path: Path) -> None:
    data = fresh(tmp_path / "data")
    for argv, status, words in (
        (["--run", "--clear"], 2, "one of ADDRESS, --clear, --run and --stop"),
        (["10.0.0.1:5000", "--stop"], 2, "not ADDRESS and --stop"),
        (["--run", "--port", "0"], 2, "port"),
        (["--run"], 1, "no swarm yet"),
        (["--stop"], 1, "Rivetr runs no registry"),
    ):
        refused = run_cli(data, "servers", "registry", *argv, env=NO_ENGINE)
        assert refused.returncode == status, (argv, refused.stderr)
        assert words in refused.stderr, (argv, refused.stderr)


def test_a_build_node_is_refused_clearly_without_a_swarm(tmp_path: Path) -> None:
    data = fresh(tmp_path / "data")
    tls = tmp_path / "tls"
    tls.mkdir()
    neither = run_cli(data, "servers", "build-node", env=NO_ENGINE)
    assert neither.returncode == 2
    assert "name the build node's engine" in neither.stderr
    missing = run_cli(
        data, "servers", "build-node", "tcp://10.0.0.5:2376", "--tls-dir", str(tls), env=NO_ENGINE
    )
    assert missing.returncode == 2
    assert "ca.pem cannot be read" in missing.stderr
    for name in ("ca", "cert", "key"):
        (tls / f"{name}.pem").write_text(f"{name} pem")
    no_swarm = run_cli(
        data, "servers", "build-node", "tcp://10.0.0.5:2376", "--tls-dir", str(tls), env=NO_ENGINE
    )
    assert no_swarm.returncode == 1
    assert "no swarm yet" in no_swarm.stderr
    cleared = run_cli(data, "servers", "build-node", "--clear", env=NO_ENGINE)
    assert cleared.returncode == 1
    assert "no build node was chosen" in cleared.stderr


def test_a_join_through_an_engine_is_refused_clearly_before_anything_is_asked(
    tmp_path: Path,
) -> None:
    """`rivetr servers join`: its TLS files read from --tls-dir, an engine URL checked as the
    API's body is, and no swarm to join said in so many words."""
    data = fresh(tmp_path / "data")
    tls = tmp_path / "tls"
    tls.mkdir()
    missing = run_cli(data, "servers", "join", "tcp://10.0.0.5:2376", "--tls-dir", str(tls))
    assert missing.returncode == 2
    assert f"ca.pem cannot be read from {tls}" in missing.stderr
    for name in ("ca", "cert", "key"):
        (tls / f"{name}.pem").write_text(f"-----BEGIN {name}-----\n")
    bad = run_cli(data, "servers", "join", "10.0.0.5:2376", "--tls-dir", str(tls), env=NO_ENGINE)
    assert bad.returncode == 2
    assert "engine" in bad.stderr
    alone = run_cli(
        data,
        "servers",
        "join",
        "tcp://10.0.0.5:2376",
        env={**NO_ENGINE, "DOCKER_CERT_PATH": str(tls)},
    )
    assert alone.returncode == 1
    assert "no swarm yet" in alone.stderr

    # through SSH: a key, and the node's host key, from ~/.ssh unless given
    home = tmp_path / "home"
    ssh = {**NO_ENGINE, "HOME": str(home)}
    keyless = run_cli(data, "servers", "join", "ssh://root@10.0.0.5", env=ssh)
    assert keyless.returncode == 2
    assert f"no SSH key in {home}/.ssh" in keyless.stderr
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    unknown = run_cli(data, "servers", "join", "ssh://root@10.0.0.5:2222", env=ssh)
    assert unknown.returncode == 2
    assert "[10.0.0.5]:2222 is not in" in unknown.stderr
    assert "--host-key" in unknown.stderr
    given = run_cli(
        data, "servers", "join", "ssh://root@10.0.0.5", "--host-key", "nonsense", env=ssh
    )
    assert given.returncode == 1
    assert "host_key must be the node's SSH host key" in given.stderr
