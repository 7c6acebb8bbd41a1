"""The soak of issue 23: steady load through the built-in proxy to `--apps` apps while one of them
is deployed or rolled back every `--deploy-every` seconds and a PostgreSQL database is backed up
every `--backup-every` seconds; the memory, file descriptors and threads of `rivetr serve` are
read from /proc each minute.

Issue 23's goals for an hour: 0 failed requests, RSS growth < 5 MB from minute 5 to the end,
file descriptors and threads flat, every deployment and backup terminal. Everything is real:
`rivetr serve` as a process of its own on a fresh data directory, the Docker engine, apps built
from local git repositories of a busybox httpd app (each release's page names its release),
each behind a domain of the proxy; the database on the test image (tests/database_images.py),
seeded, backed up to the `local` target on a schedule (`*/5 * * * *`; when `--backup-every` is
no whole number of minutes that divides an hour, asked for through the API instead). The load
is benchmarks/soak_load.py, in a process of its own. The cadence is fixed: nothing waits for a
deployment; one still running when the next is due is said. Everything the run made is removed
at the end, after a failure or Ctrl-C too.

    python benchmarks/soak.py                                 # the hour (~61 min in all)
    python benchmarks/soak.py --minutes 6 --json soak.json    # a short run
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from installed import service_python
from local_git import git

from rivetr.domain.deployment import IN_FLIGHT
from tests.database_images import POSTGRES, ensure_image

RSS_GOAL_MB = 5.0
BASELINE_MINUTE = 5  # RSS growth, fds and threads are judged from this minute on
SETTLE_S = 300.0  # the longest wait at the end for deployments and backups in flight
SETUP_S = 300.0  # the longest wait for a setup deployment or the database
KEPT_FAILURES = 1000  # failed requests recorded whole (time, app, reason); all are counted
UNSETTLED = IN_FLIGHT | {"rolling_back"}
BACKUP_ENDS = frozenset({"verified", "failed"})
DOCKERFILE = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""
SEED = (
    "CREATE TABLE t (n int, s text);"
    " INSERT INTO t SELECT n, md5(n::text) FROM generate_series(1, 10000) n;"
)
PSQL = 'PGPASSWORD="$POSTGRES_PASSWORD" psql -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'


class ApiError(Exception):
    """A refusal of the API: the method, path, status and the problem's detail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In a child before it runs: SIGTERM when the soak dies, even killed (no orphan serve)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """A child in a session of its own (a Ctrl-C is the soak's to handle, in order)."""
    return subprocess.Popen(argv, start_new_session=True, preexec_fn=die_with_parent, **kwargs)


def end(process: subprocess.Popen[Any] | None, grace_s: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Service:
    """`rivetr serve` on a fresh data directory, the proxy on free loopback ports."""

    def __init__(self, folder: Path) -> None:
        self.data, self.log = folder / "data", folder / "serve.log"
        self.port, self.proxy_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "RIVETR_ENGINE": "docker",
            "RIVETR_PROXY_HOST": "127.0.0.1",
            "RIVETR_PROXY_HTTP_PORT": str(self.proxy_port),
            "RIVETR_PROXY_HTTPS_PORT": str(free_port()),
            "RIVETR_ACME_AUTO": "false",
            "RIVETR_GIT_LOCAL_DIRS": str(folder),
            "RIVETR_DATABASE_IMAGES": f"postgres:16-alpine={POSTGRES.tag}",
            "RIVETR_DATABASE_HEALTH_TIMEOUT_S": "300",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def start(self) -> None:
        base = [service_python(), "-m", "rivetr.cli"]
        minted = subprocess.run(
            [*base, "tokens", "create", "--name", "soak", "--data-dir", str(self.data)],
            capture_output=True, text=True, timeout=60, env=self.env, check=True,
        )  # fmt: skip
        self.token = minted.stdout.strip().splitlines()[-1]
        with self.log.open("wb") as out:
            self.process = spawn(
                [*base, "serve", "--data-dir", str(self.data), "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=self.env,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if self.call("GET", "/health")["engine"]["available"]:
                    return
            except (OSError, ApiError):
                pass
            time.sleep(0.2)
        raise RuntimeError("rivetr serve did not answer with the engine connected in 60 s")

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("rivetr serve exited")

    def call(self, method: str, path: str, body: object = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError):
                text = json.loads(text).get("detail") or text
            raise ApiError(f"{method} {path}: {exc.code} {text}") from None
        return json.loads(raw) if raw else None

    def proc(self) -> dict[str, float]:
        """VmRSS (MB), open file descriptors and threads of the service, from /proc."""
        assert self.process is not None
        self.check_alive()
        pid = self.process.pid
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        return {
            "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 2),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": int(status["Threads"]),
        }

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class AppRepo:
    """An app's git repository; each release a commit whose page says the app and release."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name, self.domain, self.path = name, f"{name}.soak.test", folder / name
        self.path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.releases = 0

    def git(self, *args: str) -> None:
        git(self.path, *args)

    def commit(self) -> str:
        """The next release committed; its page's body."""
        self.releases += 1
        body = f"{self.name} release {self.releases}\n"
        (self.path / "Dockerfile").write_text(DOCKERFILE)
        (self.path / "index.html").write_text(body)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"release {self.releases}")
        return body


class Loader:
    """benchmarks/soak_load.py, driven over its stdin and stdout."""

    def __init__(self, port: int, hosts: list[str], rate: float) -> None:
        script = Path(__file__).resolve().parent / "soak_load.py"
        argv = [sys.executable, str(script), "--port", str(port), "--hosts", ",".join(hosts)]
        self.process = spawn(
            [*argv, "--rate", str(rate)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def send(self, **order: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()

    def report(self, op: str = "report") -> dict[str, Any]:
        self.send(op=op)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the load process exited")
        return json.loads(line)  # type: ignore[no-any-return]


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


class Soak:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        tag = secrets.token_hex(3)
        self.project = f"soak{tag}"
        self.service = Service(folder)
        self.repos = [AppRepo(folder / "repos", f"soak{tag}-{n}") for n in range(1, args.apps + 1)]
        self.app_ids: list[str] = []
        self.database_id: str | None = None
        self.loader: Loader | None = None
        self.cron = cron_for(args.backup_every)
        self.started = 0.0
        self.samples: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.reasons: collections.Counter[str] = collections.Counter()
        self.notes: list[str] = []
        self.actions: collections.Counter[str] = collections.Counter()
        self.pending: dict[str, tuple[str, str, float]] = {}  # deployment -> app, action, asked

    # --- setup ---

    def set_up(self) -> None:
        began = time.monotonic()
        ensure_image(docker.from_env(), POSTGRES)
        subprocess.run(
            [service_python(), "-m", "rivetr.cli", "images", "import-busybox"],
            check=True, capture_output=True, env=self.service.env,
        )  # fmt: skip
        self.service.start()
        call = self.service.call
        call("POST", "/projects", {"project": self.project})
        database = call(
            "POST", "/databases", {"name": "pg", "kind": "postgres", "project": self.project}
        )
        self.database_id = database["database_id"]
        for repo in self.repos:
            repo.commit()
            app = call("POST", "/apps", {
                "name": repo.name, "git_url": str(repo.path), "port": 8080,
                "domains": [repo.domain], "project": self.project,
                "health": {"path": "/", "interval_s": 0.2, "timeout_s": 1},
            })  # fmt: skip
            self.app_ids.append(app["id"])
        for release in (1, 2):  # two releases each, so that the first rollback has one to go to
            if release == 2:
                for repo in self.repos:
                    repo.commit()
            asked = [
                call("POST", f"/apps/{repo.name}/deployments", {})["deployment_id"]
                for repo in self.repos
            ]
            for deployment_id in asked:
                status = self.until(f"/deployments/{deployment_id}", "deployment")
                if status != "live":
                    raise RuntimeError(f"setup deployment {deployment_id} ended {status}")
        if self.until(f"/databases/{self.database_id}", None) != "running":
            raise RuntimeError(f"the database did not start: {self.database()['failure']}")
        self.seed()
        if self.cron:
            call("PUT", f"/databases/{self.database_id}/schedules", {
                "schedules": [{"cron": self.cron, "timezone": "UTC", "target": "local"}]
            })  # fmt: skip
        self.loader = Loader(
            self.service.proxy_port, [repo.domain for repo in self.repos], self.args.rate
        )
        for repo in self.repos:
            for n in range(1, repo.releases + 1):
                self.loader.send(op="allow", host=repo.domain, body=f"{repo.name} release {n}\n")
        took = time.monotonic() - began
        how = f"on the schedule {self.cron!r}" if self.cron else "asked for through the API"
        print(
            f"set up in {took:.0f} s: {len(self.repos)} apps live (2 releases each), "
            f"PostgreSQL running and seeded, backups {how}"
        )

    def until(self, path: str, key: str | None) -> str:
        """Poll `path` until its status leaves the in-flight ones; that status."""
        deadline = time.monotonic() + SETUP_S
        while True:
            found = self.service.call("GET", path)
            status: str = (found[key] if key else found)["status"]
            if status not in UNSETTLED | {"starting"} or time.monotonic() > deadline:
                return status
            time.sleep(0.5)

    def database(self) -> dict[str, Any]:
        return self.service.call("GET", f"/databases/{self.database_id}")  # type: ignore[no-any-return]

    def seed(self) -> None:
        """A table of 10,000 rows, so that each backup's verification counts something."""
        container = docker.from_env().containers.get(f"rivetr-db-{self.database_id}")
        code, output = container.exec_run(["sh", "-c", f'{PSQL} -c "{SEED}"'])
        if code != 0:
            raise RuntimeError(f"seeding the database failed: {output.decode(errors='replace')}")

    # --- the soak ---

    def run(self) -> None:
        assert self.loader is not None
        args = self.args
        self.loader.send(op="start")
        self.started = time.monotonic()
        print(
            f"{'minute':>6} {'requests':>9} {'failed':>6} {'RSS MB':>7} {'fds':>5} {'threads':>7}"
            f" {'deploys done/running':>20} {'backups done':>12} {'p99 ms':>7}"
        )
        self.sample(0)
        minute, action, backup = 1, 1, 1
        while minute <= args.minutes:
            times = {"minute": minute * 60.0, "action": action * args.deploy_every}
            if not self.cron:
                times["backup"] = backup * args.backup_every
            what = min(times, key=lambda k: (times[k], k != "minute"))  # the sample first
            time.sleep(max(0.0, self.started + times[what] - time.monotonic()))
            if what == "minute":
                self.sample(minute)
                minute += 1
            elif what == "action":
                self.act(action - 1)
                action += 1
            else:
                self.back_up()
                backup += 1

    def now(self) -> float:
        return time.monotonic() - self.started

    def sample(self, minute: int) -> None:
        assert self.loader is not None
        figures = self.service.proc()
        load = self.loader.report()
        self.record_failures(load["new_failures"])
        done, running = self.deployment_counts()
        backups = self.backups()
        row = {
            "minute": minute,
            "at_s": round(self.now(), 1),
            "requests": load["requests"],
            "failures": load["failures"],
            **figures,
            "deployments_done": done,
            "deployments_running": running,
            "backups_done": sum(b["status"] in BACKUP_ENDS for b in backups),
            "latency_ms": load["latency_ms"],
        }
        self.samples.append(row)
        p99 = f"{load['latency_ms']['p99']:.1f}" if load["latency_ms"] else "-"
        print(
            f"{minute:>6} {row['requests']:>9,} {row['failures']:>6} {row['rss_mb']:>7.1f}"
            f" {row['fds']:>5} {row['threads']:>7} {f'{done}/{running}':>20}"
            f" {row['backups_done']:>12} {p99:>7}",
            flush=True,
        )

    def record_failures(self, failures: list[dict[str, Any]]) -> None:
        """Count each failure by its reason; keep the first KEPT_FAILURES whole."""
        for failure in failures:
            self.reasons[failure["reason"]] += 1
            if len(self.failures) < KEPT_FAILURES:
                at = failure.pop("at") - (time.time() - self.now())
                self.failures.append({"at_s": round(at, 2), **failure})

    def act(self, k: int) -> None:
        """Action k: app k mod n, deployed or rolled back, the two alternating."""
        count = len(self.repos)
        repo = self.repos[k % count]
        kind = "deploy" if (k // count + k % count) % 2 == 0 else "rollback"
        self.note_overlaps()
        try:
            if kind == "deploy":
                assert self.loader is not None
                body = repo.commit()
                self.loader.send(op="allow", host=repo.domain, body=body)
                path = f"/apps/{repo.name}/deployments"
            else:
                path = f"/apps/{repo.name}/rollback"
            deployment_id = self.service.call("POST", path, {})["deployment_id"]
        except ApiError as exc:
            self.actions["refused"] += 1
            self.say(f"the {kind} of {repo.name} was refused: {exc}")
            return
        self.actions[kind] += 1
        self.pending[deployment_id] = (repo.name, kind, self.now())

    def note_overlaps(self) -> None:
        """Say (once each) which deployments asked for are still running as the next is due."""
        for deployment_id, (app, kind, asked) in list(self.pending.items()):
            found = self.service.call("GET", f"/deployments/{deployment_id}")["deployment"]
            del self.pending[deployment_id]
            if found["status"] in UNSETTLED:
                self.actions["still running when the next was due"] += 1
                self.say(
                    f"the {kind} of {app} asked at {clock(asked)} ({deployment_id}) is still "
                    f"{found['status']} as the next is due"
                )

    def back_up(self) -> None:
        try:
            self.service.call("POST", f"/databases/{self.database_id}/backups", {})
        except ApiError as exc:
            self.say(f"the backup was refused: {exc}")

    def say(self, text: str) -> None:
        line = f"{clock(self.now())}  {text}"
        self.notes.append(line)
        print(f"       {line}", flush=True)

    def deployments(self) -> list[dict[str, Any]]:
        return [
            d
            for repo in self.repos
            for d in self.service.call("GET", f"/apps/{repo.name}/deployments?limit=500")
        ]

    def deployment_counts(self) -> tuple[int, int]:
        statuses = [d["status"] for d in self.deployments()]
        running = sum(status in UNSETTLED for status in statuses)
        return len(statuses) - running, running

    def backups(self) -> list[dict[str, Any]]:
        return self.service.call("GET", f"/databases/{self.database_id}/backups")  # type: ignore[no-any-return]

    # --- the end ---

    def finish(self) -> dict[str, Any]:
        """Wait (bounded) for what is in flight, stop the load, read every end state."""
        assert self.loader is not None
        waited = time.monotonic()
        while time.monotonic() - waited < SETTLE_S:
            busy = sum(d["status"] in UNSETTLED for d in self.deployments())
            busy += sum(b["status"] not in BACKUP_ENDS for b in self.backups())
            if not busy:
                break
            time.sleep(2)
        waited = time.monotonic() - waited
        load = self.loader.report("stop")
        self.loader.process.wait(30)
        self.record_failures(load["new_failures"])
        deployments, backups = self.deployments(), self.backups()
        after = [s for s in self.samples if s["minute"] >= min(BASELINE_MINUTE, self.args.minutes)]
        base, last = after[0], self.samples[-1]
        p99s = [s["latency_ms"]["p99"] for s in self.samples if s["latency_ms"]]
        return {
            "benchmark": "soak",
            "settings": {
                "minutes": self.args.minutes,
                "rate": self.args.rate,
                "apps": len(self.repos),
                "deploy_every_s": self.args.deploy_every,
                "backup_every_s": self.args.backup_every,
                "backups_by": f"schedule {self.cron}" if self.cron else "api",
                "request_timeout_s": 2.0,
            },
            "requests": load["requests"],
            "failed_requests": load["failures"],
            "failures": self.failures,
            "failure_reasons": dict(self.reasons),
            "latency_ms": {"p99_worst_minute": max(p99s, default=None)},
            "rss_mb": {
                "baseline_minute": base["minute"],
                "at_baseline": base["rss_mb"],
                "at_end": last["rss_mb"],
                "growth": round(last["rss_mb"] - base["rss_mb"], 2),
            },
            "fds": {"min": min(s["fds"] for s in after), "max": max(s["fds"] for s in after)},
            "threads": {
                "min": min(s["threads"] for s in after),
                "max": max(s["threads"] for s in after),
            },
            "settle_wait_s": round(waited, 1),
            "actions": dict(self.actions),
            "deployments": ends(deployments, lambda s: s not in UNSETTLED, "failure_reason"),
            "backups": ends(backups, lambda s: s in BACKUP_ENDS, "failure"),
            "notes": self.notes,
            "samples": self.samples,
        }


def ends(items: list[dict[str, Any]], settled: Callable[[str], bool], why: str) -> dict[str, Any]:
    """Counts by status, whether every one is terminal, and each failure with its reason."""
    failed = [
        {"id": item.get("id") or item.get("backup_id"), "app": item.get("app"),
         "step": item.get("failed_step"), "reason": item[why]}
        for item in items if item["status"] == "failed"
    ]  # fmt: skip
    return {
        "total": len(items),
        "by_state": dict(collections.Counter(item["status"] for item in items)),
        "all_terminal": all(settled(item["status"]) for item in items),
        "failed": failed,
    }


def cron_for(seconds: float) -> str | None:
    """The schedule that backs up every `seconds`, when cron can say it; else None."""
    minutes = seconds / 60
    if minutes.is_integer() and 1 <= minutes <= 60 and 60 % minutes == 0:
        return "0 * * * *" if minutes == 60 else f"*/{int(minutes)} * * * *"
    return None


def show(summary: dict[str, Any]) -> None:
    rss, fds, threads = summary["rss_mb"], summary["fds"], summary["threads"]
    failed = summary["failed_requests"]
    minute = rss["baseline_minute"]
    print()
    print(f"{'requests':<34}{summary['requests']:>12,}")
    print(f"{'failed requests':<34}{failed:>12,}  goal 0: {'met' if not failed else 'NOT met'}")
    for reason, count in sorted(summary["failure_reasons"].items(), key=lambda r: -r[1]):
        print(f"  {count:>6} {reason}")
    for failure in summary["failures"][:10]:
        print(f"    at {clock(failure['at_s'])} {failure['host']} ({failure['connection']}): "
              f"{failure['reason']}")  # fmt: skip
    grew = rss["growth"]
    print(f"{f'RSS at minute {minute} (MB)':<34}{rss['at_baseline']:>12.1f}")
    print(f"{'RSS at the end (MB)':<34}{rss['at_end']:>12.1f}")
    print(f"{'RSS growth (MB)':<34}{grew:>+12.2f}  goal < {RSS_GOAL_MB:.0f} MB: "
          f"{'met' if grew < RSS_GOAL_MB else 'NOT met'}")  # fmt: skip
    for name, span in (("fds", fds), ("threads", threads)):
        low_high = f"{span['min']}-{span['max']}"
        print(f"{f'{name} from minute {minute}, min-max':<34}{low_high:>12}")
    worst = summary["latency_ms"]["p99_worst_minute"]
    print(f"{'p99 latency, worst minute (ms)':<34}{'-' if worst is None else f'{worst:.1f}':>12}")
    actions = ", ".join(f"{k} {v}" for k, v in sorted(summary["actions"].items()))
    print(f"{'actions':<34}{actions}")
    print(f"{'waited at the end for (s)':<34}{summary['settle_wait_s']:>12.1f}")
    for what in ("deployments", "backups"):
        found = summary[what]
        states = ", ".join(f"{k} {v}" for k, v in sorted(found["by_state"].items()))
        terminal = "all terminal" if found["all_terminal"] else "NOT all terminal"
        print(f"{what:<34}{found['total']:>12}  {states}; {terminal}")
        for failure in found["failed"]:
            of = f" ({failure['app']})" if failure["app"] else ""
            print(f"    failed {failure['id']}{of} at {failure['step']}: {failure['reason']}")


def clean_up(soak: Soak) -> None:
    """Remove everything the run made: the load; the apps, the database and the project
    through the API while the service runs; the service; then whatever of theirs the engine
    still holds."""
    service = soak.service
    try:
        if soak.loader is not None:
            end(soak.loader.process, 5)
        if service.process is not None and service.process.poll() is None:
            for repo in soak.repos:
                with contextlib.suppress(OSError, ApiError):
                    service.call("DELETE", f"/apps/{repo.name}")
            if soak.database_id:
                with contextlib.suppress(OSError, ApiError):
                    service.call("DELETE", f"/databases/{soak.database_id}?keep_volume=false")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "container" in leftovers(soak, remove=False):
                time.sleep(1)
            with contextlib.suppress(OSError, ApiError):  # its network goes with it
                service.call("DELETE", f"/projects/default/{soak.project}")
    finally:
        end(service.process, 60)
    left = leftovers(soak, remove=True)
    if left:
        counts = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in left.items())
        print(f"removed what the service left: {counts}")


def leftovers(soak: Soak, remove: bool) -> collections.Counter[str]:
    """The containers, images, volumes and network of this run still in the engine, counted
    by kind (found by their labels and names: other runs on the same engine are left alone);
    removed with `remove`. The engine's own lists, never an inspection each: what the service
    removes meanwhile is simply gone."""
    api = docker.from_env().api
    labels = [f"rivetr.app={app_id}" for app_id in soak.app_ids]
    if soak.database_id:
        labels.append(f"rivetr.database={soak.database_id}")
    found: dict[str, set[str]] = collections.defaultdict(set)
    for label in labels:
        found["container"] |= {c["Id"] for c in api.containers(all=True, filters={"label": label})}
        found["volume"] |= {
            v["Name"] for v in api.volumes(filters={"label": label})["Volumes"] or []
        }
    for repo in soak.repos:
        found["image"] |= set(api.images(name=f"rivetr/{repo.name}", quiet=True))
    if soak.database_id:
        found["volume"] |= {v["Name"] for v in api.volumes()["Volumes"] or []
                            if v["Name"].startswith(f"rivetr-db-{soak.database_id}")}  # fmt: skip
    network = f"rivetr.default.{soak.project}.production"
    found["network"] = {n["Id"] for n in api.networks(names=[network]) if n["Name"] == network}
    removers = {
        "container": lambda c: api.remove_container(c, force=True),
        "volume": api.remove_volume,
        "image": lambda i: api.remove_image(i, force=True),
        "network": api.remove_network,
    }
    counts: collections.Counter[str] = collections.Counter()
    for kind, remover in removers.items():  # containers first: they hold the rest
        for thing in found[kind]:
            counts[kind] += 1
            if not remove:
                continue
            try:
                remover(thing)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                print(f"could not remove {kind} {thing}: {exc}")
    return counts


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60, help="length of the soak (60)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second, in all")
    parser.add_argument("--apps", type=int, default=5, help="apps behind the proxy (5)")
    parser.add_argument(
        "--deploy-every", type=float, default=30.0, help="seconds between deploys/rollbacks"
    )
    parser.add_argument(
        "--backup-every", type=float, default=300.0, help="seconds between database backups"
    )
    parser.add_argument("--json", type=Path, help="write the summary and the samples there")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupted)
    folder = Path(tempfile.mkdtemp(prefix="rivetr-soak-"))
    soak = Soak(args, folder)
    summary: dict[str, Any] | None = None
    try:
        soak.set_up()
        print(
            f"soak: {args.minutes} min, {args.rate:g} req/s through the proxy to "
            f"{args.apps} apps, a deploy or rollback every {args.deploy_every:g} s, "
            f"a backup every {args.backup_every:g} s"
        )
        soak.run()
        summary = soak.finish()
        show(summary)
    except BaseException as exc:
        why = (
            "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        )
        print(f"the soak stopped: {why}", file=sys.stderr)
        tail = soak.service.log_tail()
        if tail and not isinstance(exc, KeyboardInterrupt):
            print(f"the end of serve's log:\n{tail}", file=sys.stderr)
        if args.json:
            failed = {"benchmark": "soak", "error": why,
                      "notes": soak.notes, "samples": soak.samples}  # fmt: skip
            args.json.write_text(json.dumps(failed, indent=2) + "\n")
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up is not to be cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("cleaning up ...", flush=True)
        try:
            clean_up(soak)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
