"""`rivetr notifications` on a data directory: a webhook channel set (its URL from the
environment, never the command line; its signing secret printed once), listed without its
URL's path, tried with a test that a real receiver gets signed, a failing one said with exit
status 1, removed; a URL of the wrong kind refused with 1, a missing URL with 2."""

from __future__ import annotations

import json

import pytest

from rivetr.adapters.webhooks.signatures import check_hmac_sha256
from tests.e2e.conftest import run_cli
from tests.e2e.test_cli_databases import nothing, on
from tests.notice_receivers import http_receiver

pytestmark = pytest.mark.e2e


def test_a_channel_is_set_listed_tried_and_removed(tmp_path) -> None:
    data = tmp_path / "data"
    on(data, nothing)
    with http_receiver() as receiver:
        env = {"RIVETR_NOTIFY_ALLOW_PRIVATE": "true", "RIVETR_NOTIFY_URL": receiver.url("/ok")}
        made = run_cli(data, "notifications", "set", "hook", "--kind", "webhook",
                       "--on", "deployment.failed,backup.failed", "--json", env=env)  # fmt: skip
        assert made.returncode == 0, made.stderr
        answer = json.loads(made.stdout)
        secret = answer["signing_secret"]
        assert answer["channel"]["on"] == ["backup.failed", "deployment.failed"]

        listed = run_cli(data, "notifications", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("hook\twebhook\thttp://127.0.0.1/…\t")
        assert "/ok" not in listed.stdout

        tried = run_cli(data, "notifications", "test", "hook", env=env)
        assert tried.returncode == 0, tried.stderr
        assert "delivered" in tried.stdout
        [got] = receiver.requests
        signature = got.headers["X-Rivetr-Signature-256"]
        assert check_hmac_sha256(signature, secret, got.body, prefix="sha256=") == "valid"

        failing = env | {"RIVETR_NOTIFY_URL": receiver.url("/fail")}
        again = run_cli(data, "notifications", "set", "hook", "--kind", "webhook",
                        "--on", "deployment.failed", env=failing)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "signing secret" not in again.stdout  # kept: shown only when made
        refused = run_cli(data, "notifications", "test", "hook", env=env)
        assert refused.returncode == 1
        assert "failed: the webhook answered 500" in refused.stdout

    wrong = run_cli(data, "notifications", "set", "chat", "--kind", "slack", "--on",
                    "deployment.failed", env={"RIVETR_NOTIFY_URL": "discord://1/abc"})  # fmt: skip
    assert wrong.returncode == 1
    assert "slack" in wrong.stderr
    missing = run_cli(data, "notifications", "set", "chat", "--kind", "slack", "--on", "x",
                      env={"RIVETR_NOTIFY_URL": ""})  # fmt: skip
    assert missing.returncode == 2
    removed = run_cli(data, "notifications", "remove", "hook")
    assert removed.returncode == 0, removed.stderr
    assert run_cli(data, "notifications", "list").stdout == ""
