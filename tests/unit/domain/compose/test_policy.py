"""No way out of the container: each host escape refused unless an instance admin allowed it,
and some never, whatever is allowed."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.policy import Allowances, host_ports, refusals
from rivetr.domain.compose.refusals import ComposeRefusals
from rivetr.domain.compose.where import ComposeError, Location, Where

from .loaded import load

DATA_DIR = "/srv/rivetr-data"
NOTHING = Allowances()
EVERYTHING = Allowances(
    privileged=True,
    cap_add=frozenset({"ALL"}),
    devices=True,
    host_namespaces=frozenset({"network", "pid", "ipc", "userns", "uts", "cgroup"}),
    unconfined=True,
    bind_prefixes=("/",),
    low_ports=True,
)


def stack(service: str, rest: str = "") -> tuple[ComposeProject, Where]:
    data, where = load("services:\n  web:\n    image: nginx\n" + service + rest)
    return read_model(data, where), where


def weigh(service: str, rest: str = "", allowances: Allowances = NOTHING) -> None:
    refusals(*stack(service, rest), allowances, data_dir=DATA_DIR)


def refused(service: str, rest: str = "", allowances: Allowances = NOTHING) -> ComposeError:
    with pytest.raises(ComposeError) as raised:
        weigh(service, rest, allowances)
    return raised.value


# (the service's keys, the key refused, what the message says, what allows it)
ALLOWABLE = [
    (
        "    privileged: true\n",
        "services.web.privileged",
        "privileged",
        Allowances(privileged=True),
    ),
    (
        "    cap_add: [NET_ADMIN]\n",
        "services.web.cap_add[0]",
        "NET_ADMIN",
        Allowances(cap_add=frozenset({"NET_ADMIN"})),
    ),
    (
        "    cap_add: [CAP_SYS_TIME]\n",
        "services.web.cap_add[0]",
        "SYS_TIME",
        Allowances(cap_add=frozenset({"SYS_TIME"})),
    ),
    (
        "    cap_add: [ALL]\n",
        "services.web.cap_add[0]",
        "ALL",
        Allowances(cap_add=frozenset({"ALL"})),
    ),
    ("    devices: [/dev/fuse]\n", "services.web.devices[0]", "devices", Allowances(devices=True)),
    (
        "    device_cgroup_rules: ['c 1:3 mr']\n",
        "services.web.device_cgroup_rules[0]",
        "devices",
        Allowances(devices=True),
    ),
    (
        "    network_mode: host\n",
        "services.web.network_mode",
        "namespace",
        Allowances(host_namespaces=frozenset({"network"})),
    ),
    (
        "    network_mode: container:abc\n",
        "services.web.network_mode",
        "namespace",
        Allowances(host_namespaces=frozenset({"network"})),
    ),
    (
        "    pid: host\n",
        "services.web.pid",
        "namespace",
        Allowances(host_namespaces=frozenset({"pid"})),
    ),
    (
        "    ipc: host\n",
        "services.web.ipc",
        "namespace",
        Allowances(host_namespaces=frozenset({"ipc"})),
    ),
    (
        "    uts: host\n",
        "services.web.uts",
        "namespace",
        Allowances(host_namespaces=frozenset({"uts"})),
    ),
    (
        "    cgroup: host\n",
        "services.web.cgroup",
        "namespace",
        Allowances(host_namespaces=frozenset({"cgroup"})),
    ),
    (
        "    userns_mode: host\n",
        "services.web.userns_mode",
        "namespace",
        Allowances(host_namespaces=frozenset({"userns"})),
    ),
    *[
        (
            f"    security_opt: ['{option}']\n",
            "services.web.security_opt[0]",
            "confinement",
            Allowances(unconfined=True),
        )
        for option in (
            "seccomp=unconfined",
            "seccomp:unconfined",
            "apparmor=unconfined",
            "apparmor:unconfined",
            "label=disable",
            "label:disable",
            "label=type:spc_t",
            "systempaths=unconfined",
            "no-new-privileges=false",
            "no-new-privileges:false",
            "unmask=ALL",
            "seccomp=/etc/profile.json",
        )
    ],
    (
        "    volumes: ['/srv/media:/media:ro']\n",
        "services.web.volumes[0]",
        "outside the stack",
        Allowances(bind_prefixes=("/srv/media",)),
    ),
    (
        "    volumes: [{type: bind, source: /mnt/photos/2024, target: /p}]\n",
        "services.web.volumes[0]",
        "outside the stack",
        Allowances(bind_prefixes=("/mnt/photos/",)),
    ),
    ("    ports: ['80:80']\n", "services.web.ports[0]", "below 1024", Allowances(low_ports=True)),
    (
        "    ports: ['127.0.0.1:53:53/udp']\n",
        "services.web.ports[0]",
        "port 53",
        Allowances(low_ports=True),
    ),
    (
        "    ports: [{target: 80, published: '1000-1100'}]\n",
        "services.web.ports[0]",
        "port 1000",
        Allowances(low_ports=True),
    ),
    (
        "    build: {context: ., privileged: true}\n",
        "services.web.build.privileged",
        "privileged",
        Allowances(privileged=True),
    ),
    ("    gpus: all\n", "services.web.gpus", "devices", Allowances(devices=True)),
]


@pytest.mark.parametrize(("service", "key", "problem", "allowance"), ALLOWABLE)
def test_a_host_escape_is_refused_naming_its_key_and_line(
    service: str, key: str, problem: str, allowance: Allowances
) -> None:
    error = refused(service)
    assert error.key == key
    assert problem in error.problem
    assert error.location is not None
    assert error.location.line == (2 if key == "services.web" else 4)


@pytest.mark.parametrize(("service", "key", "problem", "allowance"), ALLOWABLE)
def test_what_an_instance_admin_allowed_goes_through(
    service: str, key: str, problem: str, allowance: Allowances
) -> None:
    weigh(service, allowances=allowance)


# refused whatever an instance admin allowed
NEVER = [
    (
        "    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n",
        "services.web.volumes[0]",
        "socket",
    ),
    ("    volumes: ['/run/docker.sock:/d.sock']\n", "services.web.volumes[0]", "socket"),
    ("    volumes: ['/run/podman/podman.sock:/p.sock']\n", "services.web.volumes[0]", "socket"),
    ("    volumes: ['/var/run/podman:/p']\n", "services.web.volumes[0]", "engine"),
    (
        "    volumes: ['/run/user/1000/podman/podman.sock:/p.sock']\n",
        "services.web.volumes[0]",
        "socket",
    ),
    (
        "    volumes: ['/run/containerd/containerd.sock:/c.sock']\n",
        "services.web.volumes[0]",
        "socket",
    ),
    ("    volumes: ['/var/run:/r']\n", "services.web.volumes[0]", "engine"),
    ("    volumes: ['/:/host']\n", "services.web.volumes[0]", "whole filesystem"),
    ("    volumes: ['/proc:/p']\n", "services.web.volumes[0]", "processes"),
    ("    volumes: ['/proc/1/root:/p']\n", "services.web.volumes[0]", "processes"),
    ("    volumes: ['/sys/fs/cgroup:/c']\n", "services.web.volumes[0]", "kernel"),
    ("    volumes: ['/etc:/e:ro']\n", "services.web.volumes[0]", "configuration"),
    ("    volumes: ['/etc/localtime:/etc/localtime']\n", "services.web.volumes[0]", "TZ"),
    ("    volumes: ['/etc/timezone:/etc/timezone:rw']\n", "services.web.volumes[0]", "TZ"),
    ("    volumes: ['/etc/hostname:/etc/hostname:ro']\n", "services.web.volumes[0]", "TZ"),
    ("    volumes: ['/root/.ssh:/k']\n", "services.web.volumes[0]", "administrator"),
    ("    volumes: ['/var/lib/docker/volumes:/v']\n", "services.web.volumes[0]", "engine"),
    ("    volumes: ['/var/lib/containers:/v']\n", "services.web.volumes[0]", "engine"),
    ("    volumes: ['/var/lib:/v']\n", "services.web.volumes[0]", "engine"),
    ("    volumes: ['/srv/rivetr-data/events.db:/e']\n", "services.web.volumes[0]", "Rivetr"),
    ("    volumes: ['/srv:/s']\n", "services.web.volumes[0]", "Rivetr"),
    ("    volumes: ['/srv/other/../rivetr-data:/e']\n", "services.web.volumes[0]", "Rivetr"),
    ("    volumes: ['//etc:/e']\n", "services.web.volumes[0]", "configuration"),
    ("    volumes: ['../..:/up']\n", "services.web.volumes[0]", "outside the stack's root"),
    ("    volumes: ['./a/../../b:/up']\n", "services.web.volumes[0]", "outside the stack's root"),
    ("    volumes: ['~/configs:/c']\n", "services.web.volumes[0]", "outside the stack's root"),
    ("    volumes: [{type: bind, target: /t}]\n", "services.web.volumes[0]", "no host path"),
    ("    use_api_socket: true\n", "services.web.use_api_socket", "engine's API"),
    ("    sysctls: {kernel.panic: 1}\n", "services.web.sysctls.kernel.panic", "host's kernel"),
    (
        "    sysctls: [vm.overcommit_memory=1]\n",
        "services.web.sysctls.vm.overcommit_memory",
        "host's kernel",
    ),
    ("    labels: {rivetr.managed: 'true'}\n", "services.web.labels.rivetr.managed", "Rivetr's"),
    ("    labels: [Rivetr.app=x]\n", "services.web.labels.Rivetr.app", "Rivetr's"),
    (
        "    deploy: {labels: {rivetr.app: x}}\n",
        "services.web.deploy.labels.rivetr.app",
        "Rivetr's",
    ),
    (
        "    build: {context: ., labels: {rivetr.deployment: x}}\n",
        "services.web.build.labels.rivetr.deployment",
        "Rivetr's",
    ),
    ("    build: {context: ., network: host}\n", "services.web.build.network", "host's network"),
    (
        "    build: {context: ., entitlements: [security.insecure]}\n",
        "services.web.build.entitlements",
        "entitlements",
    ),
    ("    build: /etc\n", "services.web.build.context", "outside the stack"),
    ("    build: ../other\n", "services.web.build.context", "outside the stack"),
    (
        "    build: {context: app, dockerfile: ../../Dockerfile}\n",
        "services.web.build.dockerfile",
        "outside the stack",
    ),
]
NEVER_TOP = [
    ("volumes:\n  v: {external: true}\n", "volumes.v.external", "not the stack's own"),
    ("networks:\n  n: {external: true}\n", "networks.n.external", "not the stack's own"),
    ("secrets:\n  s: {external: true}\n", "secrets.s.external", "not the stack's own"),
    ("configs:\n  c: {external: {name: x}}\n", "configs.c.external", "not the stack's own"),
    ("secrets:\n  s: {file: /abs/secret_data}\n", "secrets.s.file", "not a file of the stack"),
    ("configs:\n  c: {file: ../c.conf}\n", "configs.c.file", "not a file of the stack"),
    (
        "volumes:\n  v:\n    driver_opts: {type: none, o: bind, device: /etc}\n",
        "volumes.v.driver_opts.device",
        "configuration",
    ),
    (
        "volumes:\n  v:\n    driver_opts: {type: nfs, o: 'addr=10.0.0.1,rw', device: ':/x'}\n",
        "volumes.v.driver_opts",
        "network share",
    ),
    (
        "volumes:\n  v:\n    driver_opts: {type: cifs, device: //host/share}\n",
        "volumes.v.driver_opts",
        "network share",
    ),
    (
        "volumes:\n  v:\n    driver_opts: {type: ext4, device: /dev/sdb1}\n",
        "volumes.v.driver_opts",
        "device",
    ),
    (
        "volumes:\n  v: {labels: {rivetr.managed: 'true'}}\n",
        "volumes.v.labels.rivetr.managed",
        "Rivetr's",
    ),
    ("networks:\n  n: {labels: [rivetr.app=x]}\n", "networks.n.labels.rivetr.app", "Rivetr's"),
]


@pytest.mark.parametrize(("service", "key", "problem"), NEVER)
def test_what_no_one_may_allow_is_refused_even_when_everything_is_allowed(
    service: str, key: str, problem: str
) -> None:
    error = refused(service, allowances=EVERYTHING)
    assert error.key == key
    assert problem in error.problem
    assert error.location is not None


@pytest.mark.parametrize(("rest", "key", "problem"), NEVER_TOP)
def test_top_level_escapes_are_refused_even_when_everything_is_allowed(
    rest: str, key: str, problem: str
) -> None:
    error = refused("", rest, allowances=EVERYTHING)
    assert error.key == key
    assert problem in error.problem


def test_what_stays_in_the_container_needs_no_allowance() -> None:
    weigh(
        "    volumes: [data:/data, './conf:/etc/app:ro', ./a/../b:/b, './x/y:/z', /cache,"
        " '/etc/localtime:/etc/localtime:ro', '/etc/timezone:/etc/timezone:ro']\n"
        "    tmpfs: [/run]\n    ports: ['8080:80', '127.0.0.1:2283:2283', 3000]\n"
        "    network_mode: none\n    ipc: shareable\n    pid: service:db\n    cgroup: private\n"
        "    security_opt: ['no-new-privileges:true', 'label=level:s0:c100,c200',"
        " apparmor=docker-default, mask=/proc/acpi]\n"
        "    sysctls: {net.core.somaxconn: 1024, kernel.shmmax: 1, kernel.msgmax: 1,"
        " kernel.sem: '1 2 3 4', fs.mqueue.msg_max: 10}\n    cap_drop: [ALL]\n"
        "    labels: {com.example: x, traefik.enable: 'true'}\n"
        "    build: {context: ./app, dockerfile: ../Dockerfile.web}\n"
        "    secrets: [s]\n  db:\n    image: postgres\n",
        "volumes:\n  data:\n  cache: {driver_opts: {type: tmpfs, device: tmpfs, o: size=100m}}\n"
        "secrets:\n  s: {file: ./secrets/s.txt}\n",
    )


def test_every_escape_is_listed_at_once_in_the_order_of_the_file() -> None:
    error = refused(
        "    privileged: true\n    volumes: ['/var/run/docker.sock:/s']\n    ports: ['80:80']\n",
        "volumes:\n  v: {external: true}\n",
    )
    assert isinstance(error, ComposeRefusals)
    assert [(one.key, one.location) for one in error.refusals] == [
        ("services.web.privileged", Location("compose.yaml", 4)),
        ("services.web.volumes[0]", Location("compose.yaml", 5)),
        ("services.web.ports[0]", Location("compose.yaml", 6)),
        ("volumes.v.external", Location("compose.yaml", 8)),
    ]


def test_the_data_directory_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        refusals(*stack(""), NOTHING, data_dir="rivetr-data")


def test_an_allowed_prefix_does_not_reach_a_neighbour_that_shares_its_start() -> None:
    error = refused(
        "    volumes: ['/srv/media2:/m']\n", allowances=Allowances(bind_prefixes=("/srv/media",))
    )
    assert "outside the stack" in error.problem


def test_host_ports_for_the_claims_aggregate() -> None:
    project, _ = stack(
        "    ports: ['8080:80', '127.0.0.1:53:53/udp', 3000, '9000-9001:9000-9001',"
        " {target: 22, published: '2222-2223'}]\n"
    )
    assert host_ports(project) == [
        ("web", 8080, "tcp"),
        ("web", 53, "udp"),
        ("web", 9000, "tcp"),
        ("web", 9001, "tcp"),
        ("web", 2222, "tcp"),
        ("web", 2223, "tcp"),
    ]


_SEGMENT = st.sampled_from(["..", ".", "a", "b", "conf", ""])


@given(st.lists(_SEGMENT, min_size=1, max_size=8))
def test_a_bind_source_that_folds_outside_the_root_is_refused(segments: list[str]) -> None:
    source = "/".join(segments).lstrip("/") or "."  # relative: absolute ones are weighed below
    folded = posixpath.normpath(source)
    data, where = load(
        "services:\n  web:\n    image: x\n    volumes:\n"
        f"      - {{type: bind, source: '{source}', target: /t}}\n"
    )
    project = read_model(data, where)
    if folded == ".." or folded.startswith("../"):
        with pytest.raises(ComposeError, match="outside the stack's root"):
            refusals(project, where, EVERYTHING, data_dir=DATA_DIR)
    else:
        refusals(project, where, NOTHING, data_dir=DATA_DIR)


@given(st.lists(_SEGMENT, max_size=8), st.sampled_from(["proc", "etc", "sys", "root"]))
def test_a_host_path_that_folds_into_a_never_place_is_refused(
    segments: list[str], never_root: str
) -> None:
    source = "/" + "/".join([*segments, "..", "..", "..", "..", "..", "..", "..", "..", never_root])
    data, where = load(
        "services:\n  web:\n    image: x\n    volumes:\n"
        f"      - {{type: bind, source: '{source}', target: /t}}\n"
    )
    with pytest.raises(ComposeError, match="never mounted"):
        refusals(read_model(data, where), where, EVERYTHING, data_dir=DATA_DIR)
