"""Helpers for the git source tests: repositories made commit by commit with the git CLI, a
machine without git config, and publishing a repository for git's "dumb" http protocol."""

from __future__ import annotations

import os
import subprocess
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git config, as on a machine where git was just installed."""
    empty = tmp_path / "empty-gitconfig"
    empty.touch()
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, then: str = "") -> Path:
    """Put an `ssh` first on PATH that writes its arguments to the file returned, runs the
    shell lines `then`, and fails like a closed port."""
    bin_dir, record = tmp_path / "bin", tmp_path / "ssh-record"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(
        f'#!/bin/sh\necho "$@" > {record}\n{then}'
        'echo "ssh: connect to host example.com port 22: Connection refused" >&2\nexit 255\n'
    )
    ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return record


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **IDENTITY}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_repo(path: Path, commits: list[tuple[dict[str, str], str]]) -> list[str]:
    """A repository on `main` with one commit per (files, message); return their SHAs."""
    path.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=path)
    shas = []
    for files, message in commits:
        for name, text in files.items():
            (path / name).write_text(text)
        git("add", "--all", cwd=path)
        git("commit", "--quiet", "-m", message, cwd=path)
        shas.append(git("rev-parse", "HEAD", cwd=path))
    return shas


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(repo: Path, root: Path) -> str:
    """Publish `repo` as a bare repository under `root` for the dumb http server."""
    bare = root / f"{repo.name}.git"
    git("clone", "--quiet", "--bare", str(repo), str(bare), cwd=root)
    git("update-server-info", cwd=bare)
    return bare.name


def in_process_list(text: str) -> bool:
    """Whether any running process has `text` in its command line."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                return True
        except OSError:  # the process ended meanwhile
            continue
    return False
