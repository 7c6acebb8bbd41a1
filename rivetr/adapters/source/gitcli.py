"""Running the `git` CLI for the source adapter: a clean environment that never prompts, progress
lines streamed as they come, secrets redacted, and the whole process group killed on cancellation.

Nothing here knows what a deployment is; `git.py` decides what to run and what a failure means.
"""

from __future__ import annotations

import base64
import codecs
import os
import re
import shlex
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteReceiveStream

from rivetr.adapters.processes import process_group

# Inherited GIT_* variables we keep: how to reach servers, never where the repository is.
_KEPT_GIT_VARS = frozenset(
    {"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_EXEC_PATH", "GIT_CONFIG_NOSYSTEM"}
    | {"GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_PROXY_COMMAND"}
)
_KEPT_GIT_PREFIXES = ("GIT_SSL_", "GIT_HTTP_")
_EOL = re.compile(r"\r\n|\r|\n")
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]+@")
_LOG_LINES = 400


class GitFailed(Exception):
    """A git command exited non-zero; `stderr` is its (redacted) error output."""

    def __init__(self, command: str, returncode: int, stderr: str) -> None:
        super().__init__(f"git {command} exited with {returncode}")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


def shown_url(url: str) -> str:
    """`url` fit for a message: a password in `user:password@host` is replaced by `***`."""
    return _URL_PASSWORD.sub(r"\1***@", url)


def token_header(url: str, token: str) -> tuple[str, str]:
    """The (config key, value) sending `token` to `url`'s host, and that host only."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"http.{parts.scheme}://{host}/.extraHeader", f"Authorization: Basic {basic}"


def ssh_command(key_path: Path | None, *, connect_timeout_s: float) -> str | None:
    """The GIT_SSH_COMMAND: never asking, giving up on a host that does not answer within
    `connect_timeout_s`; with a key, using only `key_path` and trusting a host on first contact.

    Without a key an inherited GIT_SSH_COMMAND gets the timeout added; an inherited GIT_SSH (a
    program that may not be OpenSSH) is left alone: None.
    """
    timeout = f"-o ConnectTimeout={max(1, round(connect_timeout_s))}"
    if key_path is not None:
        return (
            f"ssh -i {shlex.quote(str(key_path))} -o IdentitiesOnly=yes"
            f" -o StrictHostKeyChecking=accept-new -o BatchMode=yes {timeout}"
        )
    if inherited := os.environ.get("GIT_SSH_COMMAND"):
        return f"{inherited} {timeout}"
    return None if os.environ.get("GIT_SSH") else f"ssh -o BatchMode=yes {timeout}"


def write_key(text: str) -> Path:
    """Write `text` to `deploy_key` (0600) in a new private folder; return the folder."""
    folder = Path(tempfile.mkdtemp(prefix="rivetr-key-"))
    # ssh rejects a key without its final newline ("invalid format"), and CRLF ones.
    body = text.replace("\r\n", "\n").strip() + "\n"
    fd = os.open(folder / "deploy_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(body)
    return folder


def git_env(config: Mapping[str, str], *, ssh: str | None) -> dict[str, str]:
    """The environment for every git call.

    Config goes through GIT_CONFIG_COUNT/KEY/VALUE rather than `-c`, so a token never shows in
    the process list. An empty GIT_ASKPASS stops git from falling back to core.askPass or
    SSH_ASKPASS (GIT_ASKPASS=echo would send the prompt text to the server as a username).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GIT_")
        or name in _KEPT_GIT_VARS
        or name.startswith(_KEPT_GIT_PREFIXES)
    }
    env.pop("SSH_ASKPASS", None)
    env |= {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS_REQUIRE": "never",
        "LC_ALL": "C",  # English messages: git.py reads them to explain a failure
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if ssh is not None:
        env["GIT_SSH_COMMAND"] = ssh
    return env


class GitSession:
    """Runs git commands in one environment, keeping the redacted stderr of all of them.

    Each command runs in a new session, with no controlling terminal (so neither git nor ssh
    can open /dev/tty to ask anything), and is killed with its children (ssh,
    git-remote-https...) when the calling task is cancelled, e.g. by a timeout.
    `on_output` gets each stderr line, progress updates included, on the event loop.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        secrets: tuple[str, ...] = (),
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self._env = dict(env)
        self._secrets = tuple(secret for secret in secrets if secret)
        self._on_output = on_output
        self._log: deque[str] = deque(maxlen=_LOG_LINES)

    def add_config(self, key: str, value: str) -> None:
        """Give every later command one more config value (a key may take several)."""
        count = int(self._env.get("GIT_CONFIG_COUNT", "0"))
        self._env[f"GIT_CONFIG_KEY_{count}"] = key
        self._env[f"GIT_CONFIG_VALUE_{count}"] = value
        self._env["GIT_CONFIG_COUNT"] = str(count + 1)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return shown_url(text)

    def log(self) -> str:
        """Git's stderr so far, progress updates collapsed to their last state."""
        return "\n".join(self._log)

    async def run(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """Run `git *args`, with `env` over the session's environment; return its stdout, or
        raise GitFailed with its stderr."""
        stdout = bytearray()
        stderr: list[str] = []
        command_env = {**self._env, **(env or {})}
        async with process_group(["git", *args], cwd=cwd, env=command_env) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_read_all, process.stdout, stdout)
                tasks.start_soon(self._read_lines, process.stderr, stderr)
            returncode = await process.wait()
        if returncode != 0:
            raise GitFailed(args[0], returncode, "\n".join(stderr))
        return stdout.decode("utf-8", "replace")

    async def _read_lines(self, stream: ByteReceiveStream, lines: list[str]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending, overwritten = "", ""
        async for chunk in stream:
            pending += decoder.decode(chunk)
            while match := _EOL.search(pending):
                line = self.redact(pending[: match.start()].rstrip())
                pending = pending[match.end() :]
                if line and self._on_output is not None:
                    self._on_output(line)
                if match.group() == "\r":  # a progress update: the next one replaces it
                    overwritten = line or overwritten
                elif line or overwritten:
                    lines.append(line or overwritten)
                    self._log.append(line or overwritten)
                    overwritten = ""
        if tail := self.redact((pending + decoder.decode(b"", final=True)).strip()) or overwritten:
            if self._on_output is not None and tail != overwritten:
                self._on_output(tail)
            lines.append(tail)
            self._log.append(tail)


async def _read_all(stream: ByteReceiveStream, into: bytearray) -> None:
    async for chunk in stream:
        into += chunk
