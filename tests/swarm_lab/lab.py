"""`Lab`: a real multi-node Docker Swarm on one machine. The host's engine is the manager; each
worker is a container (`rivetr-lab-w1`, ...) running its own dockerd on the lab's bridge, started
with the capabilities ENVIRONMENT.md measured (`--privileged` fails on these hosts)."""

from __future__ import annotations

import fcntl
import io
import ipaddress
import os
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass

from docker import DockerClient
from docker.models.containers import Container

from tests.swarm_lab.cleanup import tear_down
from tests.swarm_lab.lifecycle import StartStop
from tests.swarm_lab.network import (
    DEFAULT_SUBNET,
    LABEL,
    NETWORK,
    PREFIX,
    LabError,
    create_network,
    forward_to_host_loopback,
    worker_forward_script,
)
from tests.swarm_lab.swarm import MANAGER_PORT, Say, host_swarm, init_swarm, node_states
from tests.swarm_lab.swarm import worker_token as host_worker_token
from tests.swarm_lab.worker_image import ensure_worker_image, print_line
from tests.tls import ThrowawayCA

LOCK_PATH = os.path.join(tempfile.gettempdir(), f"{PREFIX}.lock")
DOCKER_CLI = "/usr/bin/docker"  # Debian's CLI matches the engine; /usr/local/bin may differ
ENGINE_TLS_PORT = 2376  # where a worker's engine answers over TLS, with `tls=`
_TLS_DIR = "/etc/docker/tls"


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


class Lab(StartStop):
    """A bridge, `workers` worker engines and, after `init_swarm()`, a swarm over them.

    `start()` first removes whatever a killed run left (everything is named `rivetr-lab...`)
    and waits, holding a lock, for another session's lab to end: the host joins one swarm at
    a time. `stop()` leaves the host engine out of swarm mode with nothing of the lab left."""

    def __init__(
        self,
        client: DockerClient,
        workers: int = 2,
        *,
        subnet: str = DEFAULT_SUBNET,
        say: Say = print_line,
        lock_timeout: float = 900.0,
        tls: ThrowawayCA | None = None,
    ) -> None:
        self.client = client
        # with a CA: each worker's engine also answers on tcp://ADDRESS:2376 with TLS both ways
        # (`dockerd --tlsverify`), its certificate and the clients' signed by that CA
        self.tls = tls
        self.subnet = ipaddress.IPv4Network(subnet)
        self.gateway = str(self.subnet.network_address + 1)  # the host: the address it advertises
        self.workers = tuple(f"{PREFIX}-w{n}" for n in range(1, workers + 1))
        self.say = say
        self._lock_timeout = lock_timeout
        self._lock: int | None = None
        self._shared_ports: list[int] = []
        # a swarm the host is in when this lab ends is this session's (a test's, Rivetr's) to
        # leave only if the host was in none once the lab had cleaned up at its start
        self._swarm_is_ours = False
        # root of every worker takes this key over SSH
        self.ssh_private_key, self.ssh_public_key = ssh_key_pair()

    def address(self, worker: str) -> str:
        """The worker's fixed address on the bridge (`.11`, `.12`, ...): also its node's."""
        return str(self.subnet.network_address + 10 + self.workers.index(worker) + 1)

    def start(self) -> Lab:
        self._acquire_lock()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        swarm = host_swarm(self.client)
        ours = swarm.joined and swarm.node_address == self.gateway
        if swarm.joined and not ours:
            raise LabError(
                f"the host's Docker engine is in a swarm the lab did not make (state "
                f"{swarm.state}, address {swarm.node_address or 'none'}): the lab will not "
                "touch it; leave it (`docker swarm leave --force`) or run the lab elsewhere"
            )
        tear_down(self.client, swarm_is_ours=ours, say=self.say)
        self._swarm_is_ours = True
        image = ensure_worker_image(self.client, self.say)
        started = time.monotonic()
        create_network(self.client, str(self.subnet))
        for worker in self.workers:
            self._run_worker(worker, image)
        for worker in self.workers:
            self._wait_engine(worker)
        self.say(
            f"{len(self.workers)} worker engine(s) answered in {time.monotonic() - started:.1f} s"
        )

    def _run_worker(self, name: str, image: str) -> None:
        # overlay2 needs a real file system under it, not the container's own overlay root
        volume = self.client.volumes.create(f"{name}-docker", labels={LABEL: "1"})
        api = self.client.api
        host_config = api.create_host_config(
            init=True,
            cap_add=["ALL"],
            cap_drop=["SYS_RESOURCE"],  # the host lacks it: asking for it fails the start
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            device_cgroup_rules=["a *:* rwm"],
            binds={volume.name: {"bind": "/var/lib/docker", "mode": "rw"}},
            # empty at every start, as a machine's /run is after a reboot: a killed engine's
            # docker.pid there would stop the next one from starting
            tmpfs={"/run": ""},
            network_mode=NETWORK,
        )
        # The CLI's `--security-opt systempaths=unconfined` is no API option: the CLI sends
        # empty (not absent) lists of masked and read-only /proc and /sys paths instead.
        host_config.update(MaskedPaths=[], ReadonlyPaths=[])
        engine_flags = ["--storage-driver", "overlay2"]
        if self.tls is not None:
            engine_flags += [
                f"--host=tcp://0.0.0.0:{ENGINE_TLS_PORT}",
                "--tlsverify",
                f"--tlscacert={_TLS_DIR}/ca.pem",
                f"--tlscert={_TLS_DIR}/cert.pem",
                f"--tlskey={_TLS_DIR}/key.pem",
            ]
        created = api.create_container(
            image,
            engine_flags,
            name=name,
            hostname=name,  # the node's hostname in `docker node ls`
            labels={LABEL: "1"},
            host_config=host_config,
            networking_config=api.create_networking_config(
                {NETWORK: api.create_endpoint_config(ipv4_address=self.address(name))}
            ),
        )
        if self.tls is not None:
            chain, key = self.tls.issue(name, addresses=(self.address(name),))
            api.put_archive(created["Id"], "/", _tls_files(self.tls.pem, chain, key))
        api.put_archive(created["Id"], "/", _authorized_keys(self.ssh_public_key.encode()))
        api.start(created["Id"])

    def engine_url(self, worker: str) -> str:
        """Where the worker's engine answers over TLS (a lab made with `tls=`)."""
        return f"tcp://{self.address(worker)}:{ENGINE_TLS_PORT}"

    def ssh_url(self, worker: str) -> str:
        """Where root signs in to the worker with `ssh_private_key`, its engine's socket in
        reach (as `docker -H ssh://` reaches it)."""
        return f"ssh://root@{self.address(worker)}"

    def host_key(self, worker: str) -> str:
        """The worker's SSH host key (`ssh-ed25519 AAAA... comment`), read from inside it as a
        user checks it on the machine itself."""
        return self.exec(worker, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.strip()

    def _container(self, worker: str) -> Container:
        if worker not in self.workers:
            raise LabError(f"{worker!r} is not one of the lab's workers {self.workers}")
        return self.client.containers.get(worker)

    def _wait_engine(self, worker: str, timeout: float = 60.0) -> None:
        container = self._container(worker)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            container.reload()
            if container.status != "running":
                break
            if container.exec_run(["docker", "info", "--format", "{{.ID}}"]).exit_code == 0:
                return
            time.sleep(0.1)
        logs = container.logs(tail=20).decode(errors="replace")
        raise LabError(
            f"{worker}'s dockerd did not answer `docker info` ({container.status}):\n{logs}"
        )

    def exec(self, worker: str, *argv: str, check: bool = True) -> ExecResult:
        """Run `argv` in the worker (`docker ...` talks to its own engine)."""
        exit_code, (stdout, stderr) = self._container(worker).exec_run(list(argv), demux=True)
        result = ExecResult(
            exit_code,
            (stdout or b"").decode(errors="replace"),
            (stderr or b"").decode(errors="replace"),
        )
        if check and exit_code != 0:
            raise LabError(
                f"{worker}: {' '.join(argv)} exited {exit_code}: {result.stderr.strip()}"
            )
        return result

    def kill(self, worker: str) -> None:
        """`docker kill`: the worker's engine dies at once, as a node losing power would."""
        self._container(worker).kill()

    def restart(self, worker: str) -> None:
        """Start the worker again (after `kill`, or restart it when running) and wait for its
        engine. Its swarm state lives on its volume: it rejoins as the same node by itself.
        Loopback forwards live in its network namespace, so they are put back."""
        container = self._container(worker)
        container.restart(timeout=10)
        self._wait_engine(worker)
        for port in self._shared_ports:
            self.exec(worker, "sh", "-c", worker_forward_script(self.gateway, port))

    def load_image(self, worker: str, ref: str) -> None:
        """`docker save ref | docker exec -i worker docker load`: an image without a registry."""
        self._container(worker)
        save = subprocess.Popen([DOCKER_CLI, "save", ref], stdout=subprocess.PIPE)
        load = subprocess.run(
            [DOCKER_CLI, "exec", "-i", worker, "docker", "load", "-q"],
            stdin=save.stdout,
            capture_output=True,
            check=False,
        )
        if save.stdout is not None:
            save.stdout.close()
        if save.wait() != 0 or load.returncode != 0:
            raise LabError(f"loading {ref} into {worker} failed: {load.stderr.decode().strip()}")

    def share_loopback(self, port: int) -> None:
        """`127.0.0.1:port` inside every worker (now and after a restart) reaches the host's
        `127.0.0.1:port`: how workers pull from a `Registry` under the host's own name for it."""
        forward_to_host_loopback(self.gateway, port)
        self._shared_ports.append(port)
        for worker in self.workers:
            if self._container(worker).status == "running":
                self.exec(worker, "sh", "-c", worker_forward_script(self.gateway, port))

    def init_swarm(self, heartbeat: float | None = None, timeout: float = 60.0) -> None:
        """The host inits a swarm advertised on the gateway, every worker joins; returns when
        all nodes are Ready. Refuses when the host is in a swarm already."""
        swarm = host_swarm(self.client)
        if swarm.joined:
            raise LabError(
                f"the host's engine is already in a swarm ({swarm.state}, {swarm.node_address})"
            )
        started = time.monotonic()
        init_swarm(self.client, self.gateway, heartbeat)
        token = host_worker_token(self.client)
        for worker in self.workers:
            self.join(worker, token, self.gateway)
        self.wait_ready(timeout)
        self.say(
            f"swarm of {len(self.workers) + 1} Ready nodes in {time.monotonic() - started:.1f} s"
        )

    def join(self, worker: str, token: str, manager_addr: str) -> None:
        """`docker swarm join` in the worker with a token anyone (Rivetr) made; port 2377 when
        `manager_addr` names none."""
        if ":" not in manager_addr:
            manager_addr = f"{manager_addr}:{MANAGER_PORT}"
        self.exec(worker, "docker", "swarm", "join", "--token", token, manager_addr)

    def wait_ready(self, timeout: float = 60.0) -> dict[str, str]:
        """Wait until the manager and every running worker are Ready nodes; their hostnames
        with their `.Status.Addr`."""
        wanted = {str(self.client.info()["Name"])}
        wanted |= {w for w in self.workers if self._container(w).status == "running"}
        deadline = time.monotonic() + timeout
        while True:
            nodes = node_states(self.client)
            if all(nodes.get(name, ("", ""))[0] == "ready" for name in wanted):
                return {name: nodes[name][1] for name in wanted}
            if time.monotonic() > deadline:
                raise LabError(f"nodes not Ready after {timeout:.0f} s: {nodes}, wanted {wanted}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Tear the lab down; a lab that never got the lock has nothing of its own to remove
        (and must not remove another session's)."""
        if self._lock is None:
            return
        try:
            tear_down(self.client, swarm_is_ours=self._swarm_is_ours, say=self.say)
        finally:
            self._release_lock()

    def _acquire_lock(self) -> None:
        self._lock = os.open(LOCK_PATH, os.O_CREAT | os.O_RDWR, 0o600)
        deadline = time.monotonic() + self._lock_timeout
        waiting_said = False
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._release_lock()
                    raise LabError(f"another swarm lab held {LOCK_PATH} for too long") from None
                if not waiting_said:
                    self.say(f"waiting for another session's swarm lab ({LOCK_PATH})")
                    waiting_said = True
                time.sleep(1)

    def _release_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing drops the flock
            self._lock = None


def ssh_key_pair() -> tuple[str, str]:
    """A new ed25519 key pair, without a passphrase: (private in OpenSSH's format, public)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "key")
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rivetr-lab", "-f", path],
            check=True,
            capture_output=True,
        )
        with open(path) as private, open(f"{path}.pub") as public:
            return private.read(), public.read()


def _authorized_keys(public_key: bytes) -> bytes:
    """A tar of root's authorized_keys holding `public_key`, for `put_archive` at `/`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder, mode in (("root", 0o700), ("root/.ssh", 0o700)):
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, mode
            archive.addfile(entry)
        info = tarfile.TarInfo("root/.ssh/authorized_keys")
        info.size, info.mode = len(public_key), 0o600
        archive.addfile(info, io.BytesIO(public_key))
    return buffer.getvalue()


def _tls_files(ca: bytes, chain: bytes, key: bytes) -> bytes:
    """A tar of the engine's TLS files, for `put_archive` at `/`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder in ("etc", "etc/docker", _TLS_DIR.lstrip("/")):
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(entry)
        for name, content, mode in (("ca", ca, 0o644), ("cert", chain, 0o644), ("key", key, 0o600)):
            info = tarfile.TarInfo(f"{_TLS_DIR.lstrip('/')}/{name}.pem")
            info.size, info.mode = len(content), mode
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
