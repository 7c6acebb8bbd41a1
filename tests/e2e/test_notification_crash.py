"""Kill -9 the service while a notice is on its way, start it again: the notice is sent again
with the same delivery key (at least once), recorded as delivered, and never sent a third time
after another restart. Real `rivetr serve`, a real webhook receiver on loopback."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from rivetr.adapters.webhooks.signatures import check_hmac_sha256
from tests.e2e.conftest import Server, run_cli
from tests.notice_receivers import http_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ENV = {"RIVETR_ENGINE": "none", "RIVETR_NOTIFY_ALLOW_PRIVATE": "true"}


def test_a_notice_cut_off_by_a_crash_is_sent_again_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = run_cli(data, "tokens", "create", "--name", "notify").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    not_a_repository = tmp_path / "empty"
    not_a_repository.mkdir()
    with http_receiver() as receiver:
        server = Server(data, ENV).start()
        try:
            api = f"{server.url}/api/v1"
            made = httpx.put(
                f"{api}/teams/default/notification-channels/hook",
                json={"kind": "webhook", "url": receiver.url("/once"), "on": ["deployment.failed"]},
                headers=headers,
            )
            assert made.status_code == 200, made.text
            secret = made.json()["signing_secret"]
            app = f"n{uuid.uuid4().hex[:8]}"
            created = httpx.post(
                f"{api}/apps", json={"name": app, "git_url": str(not_a_repository)}, headers=headers
            )
            assert created.status_code == 201, created.text
            asked = httpx.post(f"{api}/apps/{app}/deployments", json={}, headers=headers)
            assert asked.status_code == 202, asked.text

            [first] = receiver.wait(1)  # held open: the service is killed before it answers
            server.stop(kill=True)
            receiver.stop.set()
            server = Server(data, ENV).start()
            api = f"{server.url}/api/v1"

            _, again = receiver.wait(2)
            assert again.headers["X-Rivetr-Delivery"] == first.headers["X-Rivetr-Delivery"]
            signature = again.headers["X-Rivetr-Signature-256"]
            assert check_hmac_sha256(signature, secret, again.body, prefix="sha256=") == "valid"
            assert again.json()["kind"] == "deployment.failed"
            assert app in again.json()["title"]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                shown = httpx.get(
                    f"{api}/teams/default/notification-channels/hook", headers=headers
                )
                outcomes = [d["outcome"] for d in shown.json()["deliveries"]]
                if outcomes == ["delivered"]:
                    break
                time.sleep(0.1)
            assert outcomes == ["delivered"]

            server.stop()
            server = Server(data, ENV).start()
            time.sleep(2)  # time enough to send anything it thought it owed
            assert len(receiver.requests) == 2
        finally:
            server.stop()
