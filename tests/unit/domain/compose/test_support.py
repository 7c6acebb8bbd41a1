"""What Rivetr runs of a compose file: the rest refused before any container starts, naming the
key and its line; what it reads but leaves alone said in a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.domain.compose.normalise import read_model
from rivetr.domain.compose.refusals import ComposeRefusals
from rivetr.domain.compose.support import supported
from rivetr.domain.compose.where import ComposeError, Location

from .loaded import compose_vectors, load, load_file


def weighed(text: str) -> tuple[str, ...]:
    data, where = load(text)
    return supported(read_model(data, where), where)


def refusal(text: str) -> ComposeError:
    with pytest.raises(ComposeError) as raised:
        weighed(text)
    return raised.value


SERVICE = "services:\n  web:\n    image: nginx\n"


def test_what_popular_self_hosted_stacks_use_is_run() -> None:
    assert (
        weighed(
            "services:\n  web:\n    image: ghost:6\n    command: [node, index.js]\n"
            "    entrypoint: /docker-entrypoint.sh\n    environment: [A=1, B]\n"
            "    depends_on:\n      db: {condition: service_healthy, restart: true}\n"
            "      migrate: {condition: service_completed_successfully, required: false}\n"
            "    healthcheck: {test: curl -f localhost, interval: 10s, start_interval: 1s}\n"
            "    volumes: [data:/data, './conf:/etc/app:ro', {type: tmpfs, target: /t}]\n"
            "    tmpfs: [/run]\n    networks: {front: {aliases: [blog]}}\n    expose: [3000]\n"
            "    ports: ['8080:80', '127.0.0.1:2283:2283']\n    restart: unless-stopped\n"
            "    labels: {app: ghost}\n    ulimits: {nofile: {soft: 1, hard: 2}}\n"
            "    shm_size: 128mb\n    stop_grace_period: 30s\n    stop_signal: SIGINT\n"
            "    user: '1000:1000'\n    working_dir: /app\n    init: true\n"
            "    sysctls: {net.core.somaxconn: 1024}\n    hostname: web\n    read_only: true\n"
            "    cap_drop: [ALL]\n    extra_hosts: ['a:1.2.3.4']\n    dns: 1.1.1.1\n"
            "    dns_search: [x]\n    group_add: [audio]\n    platform: linux/amd64\n"
            "    stdin_open: true\n    tty: true\n    mem_limit: 1g\n    cpus: 0.5\n"
            "    pids_limit: 200\n    security_opt: ['no-new-privileges:true']\n"
            "    profiles: [web]\n    links: [db]\n    x-rivetr: {domain: blog.example}\n"
            "    secrets: [pw]\n    configs: [{source: conf, target: /c, mode: 0440}]\n"
            "    deploy:\n      replicas: 1\n      restart_policy: {condition: on-failure}\n"
            "      resources:\n        limits: {cpus: '0.5', memory: 512m, pids: 100}\n"
            "        reservations: {cpus: '0.1', memory: 64m}\n"
            "    build: {context: ., dockerfile: Dockerfile, args: [V=1], target: prod}\n"
            "  db:\n    image: postgres\n    network_mode: service:web\n"
            "  migrate:\n    image: x\n    restart: no\n    healthcheck: {disable: true}\n"
            "volumes:\n  data: {driver: local, labels: {a: b}}\n"
            "networks:\n  front: {driver: bridge, internal: true}\n"
            "secrets:\n  pw: {environment: PW}\n"
            "configs:\n  conf: {content: 'x = 1'}\nname: blog\nversion: '3.8'\nx-anchors: {}\n"
        )
        == ()
    )


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("    volumes_from: [other]\n", "services.web.volumes_from", "named volume"),
        ("    external_links: [redis_1]\n", "services.web.external_links", "outside the stack"),
        ("    runtime: runc\n", "services.web.runtime", "does not run `runtime`"),
        ("    cgroup_parent: x\n", "services.web.cgroup_parent", "`cgroup_parent`"),
        ("    isolation: hyperv\n", "services.web.isolation", "`isolation`"),
        ("    mac_address: 02:42:ac:11:65:43\n", "services.web.mac_address", "`mac_address`"),
        ("    deploy: {replicas: 3}\n", "services.web.deploy.replicas", "3 replicas"),
        ("    scale: 2\n", "services.web.scale", "2 replicas"),
        ("    deploy: {mode: global}\n", "services.web.deploy.mode", "global service runs on"),
        (
            "    deploy: {placement: {constraints: [a]}}\n",
            "services.web.deploy.placement",
            "servers only",
        ),
        (
            "    networks: {front: {ipv4_address: 1.2.3.4}}\n",
            "services.web.networks.front.ipv4_address",
            "`ipv4_address`",
        ),
        ("    network_mode: bridge\n", "services.web.network_mode", "stack's network"),
        ("    restart: sometimes\n", "services.web.restart", "none of"),
        ("    restart: always:3\n", "services.web.restart", "none of"),
        ("    healthcheck: {test: [curl]}\n", "services.web.healthcheck.test", "CMD-SHELL"),
        (
            "    volumes: [{type: npipe, source: x, target: /y}]\n",
            "services.web.volumes[0].type",
            "npipe",
        ),
        (
            "    volumes: ['/a:/b:rshared']\n",
            "services.web.volumes[0].bind.propagation",
            "`propagation`",
        ),
        (
            "    build: {context: ., cache_from: [x]}\n",
            "services.web.build.cache_from",
            "`cache_from`",
        ),
        ("    secrets: [{source: pw, uid: '1'}]\n", "services.web.secrets[0].uid", "`uid`"),
        ("    env_file: [.env]\n", "services.web.env_file", "environment"),
        ("    label_file: [a]\n", "services.web.label_file", "label files"),
        ("    extends: base\n", "services.web.extends", "resolved"),
        ("    gpus: all\n", "services.web.gpus", "`gpus`"),
        ("    post_start: [{command: x}]\n", "services.web.post_start", "`post_start`"),
        ("    oom_score_adj: -500\n", "services.web.oom_score_adj", "`oom_score_adj`"),
    ],
)
def test_a_service_key_rivetr_does_not_run_is_refused_naming_it(
    text: str, key: str, problem: str
) -> None:
    error = refusal(SERVICE + text)
    assert error.key == key
    assert problem in error.problem
    assert error.location is not None
    assert error.location.line >= 4


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("networks:\n  n: {driver: overlay}\n", "networks.n.driver", "bridge networks"),
        (
            "networks:\n  n: {ipam: {config: [{subnet: 10.0.0.0/24}]}}\n",
            "networks.n.ipam",
            "`ipam`",
        ),
        ("volumes:\n  v: {driver: flocker}\n", "volumes.v.driver", "local volumes"),
        ("secrets:\n  s: {name: x}\n", "secrets.s", "no content"),
        ("secrets:\n  s: {file: ./s, driver: vault}\n", "secrets.s.driver", "`driver`"),
        (
            "configs:\n  c: {file: ./c, template_driver: golang}\n",
            "configs.c.template_driver",
            "`template_driver`",
        ),
        ("models:\n  m: {model: ai/smollm2}\n", "models", "models"),
        ("include: [other.yaml]\n", "include", "resolved"),
    ],
)
def test_a_top_level_key_rivetr_does_not_run_is_refused(text: str, key: str, problem: str) -> None:
    error = refusal(SERVICE + text)
    assert error.key == key
    assert problem in error.problem


def test_every_refusal_is_listed_in_the_order_of_the_file() -> None:
    error = refusal(
        SERVICE + "    runtime: x\n    volumes_from: [y]\n  b:\n    image: x\n    scale: 3\n"
    )
    assert isinstance(error, ComposeRefusals)
    assert [(one.key, one.location) for one in error.refusals] == [
        ("services.web.runtime", Location("compose.yaml", 4)),
        ("services.web.volumes_from", Location("compose.yaml", 5)),
        ("services.b.scale", Location("compose.yaml", 8)),
    ]


def test_what_is_read_but_not_acted_on_is_a_warning_naming_the_key() -> None:
    warnings = weighed(
        SERVICE + "    container_name: my-web\n    logging: {driver: syslog}\n"
        "    deploy: {update_config: {parallelism: 2}, labels: [a=b]}\n"
        "    develop: {watch: [{path: ., action: rebuild}]}\n"
        "volumes:\n  v: {name: fixed}\n"
    )
    assert warnings == (
        "compose.yaml:4: services.web.container_name: Rivetr names containers itself; 'my-web' "
        "is kept as the service's network alias",
        "compose.yaml:5: services.web.logging: Rivetr keeps each service's logs itself; the "
        "logging driver is ignored",
        "compose.yaml:6: services.web.deploy.labels: deploy.labels label a Swarm service, "
        "which Rivetr does not run",
        "compose.yaml:6: services.web.deploy.update_config: Rivetr rolls a stack out itself, "
        "health-gated; ignored",
        "compose.yaml:7: services.web.develop: `develop` is for `docker compose watch`; Rivetr "
        "ignores it",
        "compose.yaml:9: volumes.v.name: Rivetr names it itself, within the stack; `name` is "
        "ignored",
    )


def test_keys_left_to_the_security_policy_are_not_refused_here() -> None:
    assert (
        weighed(
            SERVICE + "    privileged: true\n    cap_add: [NET_ADMIN]\n    pid: host\n"
            "    devices: [/dev/fuse]\n    volumes: ['/var/run/docker.sock:/s']\n"
            "    network_mode: host\n    security_opt: [seccomp=unconfined]\n"
            "volumes:\n  v: {external: true}\n"
        )
        == ()
    )


AWESOME = "awesome-compose/"
RUNS = [
    "elasticsearch-logstash-kibana/compose.yaml",
    "flask/compose.yaml",
    "gitea-postgres/compose.yaml",
    "nextcloud-redis-mariadb/compose.yaml",
    "nginx-flask-mysql/compose.yaml",
    "nginx-golang-postgres/compose.yaml",
    "postgresql-pgadmin/compose.yaml",
    "react-express-mysql/compose.yaml",
]


@pytest.mark.parametrize("name", RUNS)
def test_the_awesome_compose_stacks_are_run(vectors_dir: Path, name: str) -> None:
    data, where = load_file(compose_vectors(vectors_dir) / AWESOME / name)
    for warning in supported(read_model(data, where), where):
        assert "container_name" in warning


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("wasmedge-mysql-nginx/compose.yml", ["services.backend.runtime"]),
        (
            "pihole-cloudflared-DoH/compose.yaml",
            ["services.cloudflared.networks.dns-net.ipv4_address", "networks.dns-net.ipam"],
        ),
    ],
)
def test_awesome_compose_stacks_with_what_rivetr_does_not_run(
    vectors_dir: Path, name: str, keys: list[str]
) -> None:
    data, where = load_file(compose_vectors(vectors_dir) / AWESOME / name)
    with pytest.raises(ComposeError) as raised:
        supported(read_model(data, where), where)
    refusals = getattr(raised.value, "refusals", (raised.value,))
    assert [one.key for one in refusals] == keys
