"""Clients creating apps as fast as a running `rivetr serve` takes them, each create with its
own Idempotency-Key, for tests that stop or kill the service under them: what it acknowledged,
what it answered otherwise, and what was left in flight when the connection went."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


class WriteStorm:
    def __init__(self, url: str, token: str, git_url: str, clients: int = 4) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.git_url = git_url
        self.clients = clients
        self.acknowledged: list[str] = []
        self.answered_otherwise: list[str] = []
        self.in_flight: list[str] = []  # sent when the connection went: outcome unknown
        self._stop = threading.Event()

    def create(self, api: httpx.Client, name: str) -> httpx.Response:
        body = {"name": name, "git_url": self.git_url}
        return api.post("/apps", json=body, headers={"Idempotency-Key": f"storm-{name}"})

    def _client(self, worker: int) -> None:
        with httpx.Client(base_url=f"{self.url}/api/v1", headers=self.headers, timeout=30) as api:
            for n in range(100_000):
                if self._stop.is_set():
                    return
                name = f"w{worker}-{n}"
                try:
                    made = self.create(api, name)
                except httpx.TransportError:
                    self.in_flight.append(name)
                    return  # refused or cut: the service is going
                if made.status_code == 201:
                    self.acknowledged.append(name)
                else:
                    self.answered_otherwise.append(f"{made.status_code} {made.text[:200]}")

    @contextmanager
    def running(self) -> Iterator[WriteStorm]:
        threads = [threading.Thread(target=self._client, args=(n,)) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(30)
