"""The git source adapter against real repositories made with the git CLI in tmp_path."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from http.server import (
    BaseHTTPRequestHandler,
    HTTPServer,
    ThreadingHTTPServer,
)
from pathlib import Path

import pytest

from rivetr.adapters.source.git import SourceError, fetch_source
from rivetr.adapters.source.policy import RepositoryPolicy
from tests.integration.git_helpers import (
    QuietFiles,
    fake_ssh,
    git,
    in_process_list,
    make_repo,
    no_git_config,
    serve,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TOKEN = "ghs_s3cr3tT0kenValue"  # made up: the tests look for it where it must not be
DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\r\nabc\r\n-----END OPENSSH PRIVATE KEY-----"
# what these tests make: repositories anywhere on this machine, servers on loopback
OPEN = RepositoryPolicy(local_dirs=["/"], allow_private=True)


@pytest.fixture(autouse=True)
def fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_git_config(tmp_path, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "app"
    shas = make_repo(
        path,
        [
            ({"app.txt": "one\n"}, "First commit"),
            ({"app.txt": "two\n", "extra.txt": "x\n"}, "Second commit\n\nWith a body."),
        ],
    )
    return path, shas


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
async def test_a_branch_tip_is_fetched_with_its_files_sha_and_subject(
    repo: tuple[Path, list[str]], tmp_path: Path, as_url: bool
) -> None:
    path, shas = repo
    url = path.as_uri() if as_url else str(path)
    lines: list[str] = []

    checkout = await fetch_source(
        url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out", on_output=lines.append
    )

    assert checkout.path == tmp_path / "out"
    assert (checkout.path / "app.txt").read_text() == "two\n"
    assert (checkout.path / "extra.txt").exists()
    assert checkout.commit_sha == shas[1] == git("rev-parse", "main", cwd=path)
    assert checkout.commit_message == "Second commit"
    assert checkout.author == "Ada Lovelace <ada@example.com>"
    assert datetime.fromisoformat(checkout.committed_at).tzinfo is not None
    assert any(line.startswith("From ") for line in lines)


@pytest.mark.parametrize("length", [40, 7], ids=["full-sha", "short-sha"])
async def test_an_older_commit_of_the_branch_is_checked_out_exactly(
    repo: tuple[Path, list[str]], tmp_path: Path, length: int
) -> None:
    path, shas = repo

    checkout = await fetch_source(
        str(path), policy=OPEN, branch="main", commit=shas[0][:length], dest=tmp_path / "out"
    )

    assert checkout.commit_sha == shas[0]
    assert checkout.commit_message == "First commit"
    assert (checkout.path / "app.txt").read_text() == "one\n"
    assert not (checkout.path / "extra.txt").exists()


async def test_a_long_subject_is_cut_to_200_characters(tmp_path: Path) -> None:
    make_repo(tmp_path / "app", [({"a": "a"}, "x" * 300 + "\nsecond line")])

    checkout = await fetch_source(
        str(tmp_path / "app"), policy=OPEN, branch="main", commit=None, dest=tmp_path / "out"
    )

    assert len(checkout.commit_message) == 200
    assert checkout.commit_message.startswith("x" * 199)


async def test_a_missing_branch_is_a_source_error_naming_it(
    repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    with pytest.raises(SourceError, match="branch 'mian' not found") as caught:
        await fetch_source(
            str(repo[0]), policy=OPEN, branch="mian", commit=None, dest=tmp_path / "out"
        )

    assert "mian" in caught.value.log
    assert not (tmp_path / "out").exists()


async def test_a_missing_commit_is_a_source_error_naming_it(
    repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    missing = "1234567890abcdef1234567890abcdef12345678"

    with pytest.raises(SourceError, match=f"commit {missing} not found"):
        await fetch_source(
            str(repo[0]), policy=OPEN, branch="main", commit=missing, dest=tmp_path / "out"
        )


async def test_a_commit_that_is_not_a_sha_is_refused(
    repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    with pytest.raises(SourceError, match="not a commit SHA"):
        await fetch_source(
            str(repo[0]), policy=OPEN, branch="main", commit="HEAD~1", dest=tmp_path / "out"
        )


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
async def test_a_missing_repository_is_a_source_error(tmp_path: Path, as_url: bool) -> None:
    missing = tmp_path / "nowhere"
    url = missing.as_uri() if as_url else str(missing)

    with pytest.raises(SourceError, match="not found or access denied"):
        await fetch_source(url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out")


async def test_fetching_again_into_the_same_dest_replaces_it(
    repo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = repo
    dest = tmp_path / "out"
    await fetch_source(str(path), policy=OPEN, branch="main", commit=shas[0], dest=dest)
    (dest / "stray.txt").write_text("left over")

    checkout = await fetch_source(str(path), policy=OPEN, branch="main", commit=None, dest=dest)

    assert checkout.commit_sha == shas[1]
    assert (dest / "app.txt").read_text() == "two\n"
    assert not (dest / "stray.txt").exists()


async def test_local_submodules_are_fetched_at_their_recorded_commit(tmp_path: Path) -> None:
    library = tmp_path / "library"
    pinned, _ = make_repo(library, [({"lib.txt": "v1\n"}, "v1"), ({"lib.txt": "v2\n"}, "v2")])
    nested = tmp_path / "nested"
    make_repo(nested, [({"deep.txt": "deep\n"}, "deep")])
    git("-c", "protocol.file.allow=always", "submodule", "add", str(nested), "deep", cwd=library)
    git("commit", "--quiet", "-m", "v3 with a nested submodule", cwd=library)
    app = tmp_path / "app"
    make_repo(app, [({"app.txt": "app\n"}, "app")])
    git("-c", "protocol.file.allow=always", "submodule", "add", str(library), "lib", cwd=app)
    git("checkout", "--quiet", pinned, cwd=app / "lib")  # not the library's tip
    git("add", "lib", cwd=app)
    git("commit", "--quiet", "-m", "Pin lib to v1", cwd=app)

    checkout = await fetch_source(
        str(app), policy=OPEN, branch="main", commit=None, dest=tmp_path / "out"
    )

    assert (checkout.path / "lib" / "lib.txt").read_text() == "v1\n"
    assert git("rev-parse", "HEAD", cwd=checkout.path / "lib") == pinned

    git("-C", "lib", "checkout", "--quiet", "main", cwd=app)  # v3: with its own submodule
    git("commit", "--quiet", "-am", "Move lib to v3", cwd=app)
    checkout = await fetch_source(
        str(app), policy=OPEN, branch="main", commit=None, dest=tmp_path / "out"
    )

    assert (checkout.path / "lib" / "deep" / "deep.txt").read_text() == "deep\n"


@pytest.fixture
def dumb_http(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain static file server over tmp_path/served: git's "dumb" http protocol."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietFiles, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_dumb_http_server_without_shallow_fetches_gets_a_full_fetch(
    repo: tuple[Path, list[str]], dumb_http: tuple[Path, str], tmp_path: Path
) -> None:
    path, shas = repo
    root, base = dumb_http
    url = f"{base}/{serve(path, root)}"

    checkout = await fetch_source(
        url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out"
    )

    assert checkout.commit_sha == shas[1]
    assert (checkout.path / "app.txt").read_text() == "two\n"


async def test_a_remote_repository_cannot_pull_in_a_local_submodule(
    dumb_http: tuple[Path, str], tmp_path: Path
) -> None:
    secret = tmp_path / "secret"  # another repository on this machine
    make_repo(secret, [({"password.txt": "hunter2\n"}, "secret")])
    app = tmp_path / "app"
    make_repo(app, [({"app.txt": "app\n"}, "app")])
    git("-c", "protocol.file.allow=always", "submodule", "add", str(secret), "lib", cwd=app)
    git("commit", "--quiet", "-m", "Add lib", cwd=app)
    root, base = dumb_http
    url = f"{base}/{serve(app, root)}"

    with pytest.raises(SourceError, match=r"submodules of .* from this machine's disk"):
        await fetch_source(url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out")

    assert not (tmp_path / "out").exists()


async def test_a_token_never_appears_in_errors_logs_or_output(tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.raises(SourceError, match="cannot connect") as caught:
        await fetch_source(
            "https://127.0.0.1:9/x.git",
            policy=OPEN,
            branch="main",
            commit=None,
            dest=tmp_path / "out",
            token=TOKEN,
            on_output=lines.append,
        )

    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    for text in [str(caught.value), caught.value.log, *lines]:
        assert TOKEN not in text
        assert encoded not in text


async def test_an_https_url_on_a_closed_port_fails_fast(tmp_path: Path) -> None:
    started = time.monotonic()

    with pytest.raises(SourceError, match=r"cannot connect to https://127\.0\.0\.1:9/x\.git"):
        await fetch_source(
            "https://127.0.0.1:9/x.git",
            policy=OPEN,
            branch="main",
            commit=None,
            dest=tmp_path / "out",
        )

    assert time.monotonic() - started < 10


class AuthWall(BaseHTTPRequestHandler):
    """Answers 401 to everything; records the Authorization header and whether the token was
    visible in any process's command line while git was waiting for the answer."""

    seen: list[tuple[str | None, bool]]

    def do_GET(self) -> None:
        self.seen.append((self.headers.get("Authorization"), in_process_list(TOKEN)))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def auth_wall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list]]:
    """An https server (self-signed, trusted through GIT_SSL_NO_VERIFY) that asks for a login."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: list[tuple[str | None, bool]] = []
    handler = type("Handler", (AuthWall,), {"seen": seen})
    server = HTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/team/app.git", seen
    finally:
        server.shutdown()
        server.server_close()


async def test_a_login_request_fails_at_once_instead_of_prompting(
    auth_wall: tuple[str, list], tmp_path: Path
) -> None:
    url, _ = auth_wall

    with pytest.raises(SourceError, match=r"not found or access denied .*token or a deploy key"):
        await fetch_source(
            url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out", timeout_s=30
        )


async def test_a_token_is_sent_as_a_header_and_never_in_the_process_list(
    auth_wall: tuple[str, list], tmp_path: Path
) -> None:
    url, seen = auth_wall

    with pytest.raises(SourceError, match="access denied \\(check the token\\)") as caught:
        await fetch_source(
            url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out", token=TOKEN
        )

    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert (expected, False) in seen
    assert TOKEN not in str(caught.value) + caught.value.log


async def test_a_silent_server_is_abandoned_at_the_timeout_and_git_killed(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/x.git"
        started = time.monotonic()

        with pytest.raises(SourceError, match="timed out after 1s"):
            await fetch_source(
                url, policy=OPEN, branch="main", commit=None, dest=tmp_path / "out", timeout_s=1
            )

        assert time.monotonic() - started < 5
        assert not in_process_list(url)
        assert not (tmp_path / "out").exists()


async def test_a_deploy_key_is_handed_to_ssh_in_a_private_file_then_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "ssh-record"  # what git asked of ssh, then the key file's mode and text
    then = (
        'while [ "$1" != "-i" ]; do shift; done\n'
        f'stat -c %a "$2" >> {record}; cat "$2" >> {record}\n'
    )
    assert fake_ssh(tmp_path, monkeypatch, then) == record
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    url = "git@example.com:team/app.git"
    with pytest.raises(SourceError, match=re.escape(f"cannot connect to {url}")):
        await fetch_source(
            url,
            policy=OPEN,
            branch="main",
            commit=None,
            dest=tmp_path / "out",
            deploy_key=DEPLOY_KEY,
        )

    arguments, mode, *key = record.read_text().splitlines()
    assert "-o IdentitiesOnly=yes" in arguments
    assert "-o StrictHostKeyChecking=accept-new" in arguments
    assert mode == "600"
    assert key == [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "abc",
        "-----END OPENSSH PRIVATE KEY-----",
    ]
    assert not [name for name in os.listdir(tmp_path) if name.startswith("rivetr-key-")]
