"""ACME in a child process. The `acme` package and what it pulls in (cryptography, pyOpenSSL,
josepy) are ~10 MB of resident memory that the service would keep for good after its first
order or renewal check: a module cannot be unloaded. Each call here runs one short-lived
`python -m rivetr.adapters.acme_process` that does what `AcmeAccount` does and answers in JSON
lines; the service keeps nothing of it.

The child asks the parent to publish each challenge answer and waits for its word before it
tells the CA to validate, so the proxy serves the token by then."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import msgspec

from rivetr.adapters.acme import ORDER_TIMEOUT, AcmeAccount, AcmeError, Issued, RenewalWindow

# beyond the order's own timeout: the child's start (its imports) and the CA's last answers
_SLACK_S = 60.0


class Account(msgspec.Struct, frozen=True, kw_only=True):
    directory_url: str
    key_path: str
    email: str | None = None
    ca_bundle: str | None = None


class Request(msgspec.Struct, frozen=True, kw_only=True):
    op: str  # "order" or "renewal_window"
    account: Account
    domain: str = ""
    chain_pem: str = ""


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    technical: str | None = None


class Message(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One line from the child: a challenge to publish or withdraw, or the answer."""

    publish: tuple[str, str] | None = None
    withdraw: str | None = None
    issued: Issued | None = None
    window: RenewalWindow | None = None
    done: bool = False  # the answer is `window` (None: the CA offers no renewal information)
    failure: Failure | None = None


class AcmeProcess:
    """`AcmeAccount`'s calls, each in a child process, with the same arguments and answers.
    Blocking, as AcmeAccount's are (run in a worker thread)."""

    def __init__(
        self,
        directory_url: str,
        key_path: Path,
        *,
        email: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.account = Account(
            directory_url=directory_url, key_path=str(key_path), email=email, ca_bundle=ca_bundle
        )

    def order(
        self,
        domain: str,
        publish: Callable[[str, str], None],
        withdraw: Callable[[str], None],
    ) -> Issued:
        answer = self._call(
            Request(op="order", account=self.account, domain=domain), publish, withdraw
        )
        if answer.issued is None:
            raise AcmeError("the ACME worker ended without a certificate")
        return answer.issued

    def renewal_window(self, chain_pem: bytes) -> RenewalWindow | None:
        request = Request(op="renewal_window", account=self.account, chain_pem=chain_pem.decode())
        return self._call(request).window

    def _call(
        self,
        request: Request,
        publish: Callable[[str, str], None] | None = None,
        withdraw: Callable[[str], None] | None = None,
    ) -> Message:
        # its complaints go to a file, read if it fails: a pipe nobody reads while it runs
        # could fill and stop it
        with tempfile.TemporaryFile() as errors:
            try:
                return self._converse(request, publish, withdraw, errors)
            except (OSError, msgspec.DecodeError) as exc:
                raise AcmeError(f"the ACME worker failed: {exc}") from None

    def _converse(
        self,
        request: Request,
        publish: Callable[[str, str], None] | None,
        withdraw: Callable[[str], None] | None,
        errors: IO[bytes],
    ) -> Message:
        # the child imports Rivetr from where this process does (a venv, or the zipapp's
        # unpacked site-packages)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        child = subprocess.Popen(
            [sys.executable, "-m", "rivetr.adapters.acme_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        # a child stuck past the order's own timeout is killed: its stdout then ends
        watchdog = threading.Timer(ORDER_TIMEOUT.total_seconds() + _SLACK_S, child.kill)
        watchdog.start()
        published: list[str] = []
        try:
            child.stdin.write(msgspec.json.encode(request) + b"\n")
            child.stdin.flush()
            for line in child.stdout:
                message = msgspec.json.decode(line, type=Message)
                if message.publish is not None and publish is not None:
                    publish(*message.publish)
                    published.append(message.publish[0])
                    child.stdin.write(b"ok\n")  # the token is served: the CA may ask for it
                    child.stdin.flush()
                elif message.withdraw is not None and withdraw is not None:
                    withdraw(message.withdraw)
                    if message.withdraw in published:
                        published.remove(message.withdraw)
                elif message.failure is not None:
                    raise AcmeError(message.failure.message, message.failure.technical)
                elif message.done or message.issued is not None:
                    return message
            # its output ended without an answer: it died, or the watchdog killed it
            child.wait()
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
            last = stderr.strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
            raise AcmeError(f"the ACME worker failed: {last[0]}", stderr or None)
        finally:
            watchdog.cancel()
            for token in published:  # a child that died mid-order leaves nothing served
                if withdraw is not None:
                    withdraw(token)
            if child.poll() is None:
                child.kill()
            child.wait()
            child.stdin.close()
            child.stdout.close()


def _answer(request: Request) -> Message:
    account = AcmeAccount(
        request.account.directory_url,
        Path(request.account.key_path),
        email=request.account.email,
        ca_bundle=request.account.ca_bundle,
    )
    if request.op == "renewal_window":
        return Message(window=account.renewal_window(request.chain_pem.encode()), done=True)

    def publish(token: str, validation: str) -> None:
        _say(Message(publish=(token, validation)))
        if sys.stdin.readline().strip() != "ok":
            raise AcmeError("the service did not publish the challenge answer")

    def withdraw(token: str) -> None:
        _say(Message(withdraw=token))

    return Message(issued=account.order(request.domain, publish, withdraw))


def _say(message: Message) -> None:
    sys.stdout.buffer.write(msgspec.json.encode(message) + b"\n")
    sys.stdout.buffer.flush()


def main() -> None:
    request = msgspec.json.decode(sys.stdin.buffer.readline(), type=Request)
    try:
        _say(_answer(request))
    except AcmeError as exc:
        _say(Message(failure=Failure(message=str(exc), technical=exc.technical)))


if __name__ == "__main__":
    main()
