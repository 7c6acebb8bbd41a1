"""`rivetr servers`: the instance's machines, as the API's /servers. Make the local engine a
swarm manager, invite a node (the command to run on it is printed) or join one through its
engine API over TLS or SSH, list the servers, label, drain, pause, activate or remove one. A change
is recorded and carried out by the running service (`rivetr serve`), whose answer this waits
for; the engine is asked directly only for the join token (and, for a join, the node's
engine)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from rivetr.cli import verbs
from rivetr.cli.shared import StdinLines, cli_actor, connect_engine

PASSWORD_ENV = "RIVETR_REGISTRY_PASSWORD"


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    output = verbs.output(common)
    servers = sub.add_parser(
        "servers",
        parents=[output],
        help="the instance's machines: a swarm, its nodes",
        description="Without an action: the swarm's servers, manager first, and the nodes"
        " invited that have not joined. Changes are carried out by the running service.",
    )
    verbs.verb(servers, _list, line)
    actions = servers.add_subparsers(metavar="ACTION")
    init = actions.add_parser("init", parents=[output], help="make this engine a swarm manager")
    init.add_argument("--advertise-addr", required=True, help="this machine's address nodes reach")
    verbs.verb(init, _init, line)
    invite = actions.add_parser("invite", parents=[output], help="print the join command")
    invite.add_argument("name", help="the node's host name")
    invite.add_argument("--manager", action="store_true", help="join as a manager")
    verbs.verb(invite, _invite, line)
    join = actions.add_parser(
        "join",
        parents=[output],
        help="join a node through its engine API over TLS or SSH",
        description="Join a node through its Docker engine, as `docker -H ... swarm join`"
        " would. tcp://HOST:2376 (`dockerd --tlsverify`): signed in with the client"
        " certificate of --tls-dir (ca.pem, cert.pem, key.pem, as Docker's DOCKER_CERT_PATH"
        " holds them; that variable, else ~/.docker, by default). ssh://USER@HOST[:PORT]: its"
        " /var/run/docker.sock through SSH, signed in with --identity (by default the first of"
        " ~/.ssh/id_ed25519, id_ecdsa, id_rsa), the node checked against --host-key (by"
        " default its line in ~/.ssh/known_hosts). The files are read for the join alone,"
        " never kept.",
    )
    join.add_argument("engine", help="tcp://HOST:PORT or ssh://USER@HOST[:PORT]")
    join.add_argument("--manager", action="store_true", help="join as a manager")
    join.add_argument("--tls-dir", type=Path, help="holds ca.pem, cert.pem and key.pem")
    join.add_argument("--identity", type=Path, help="the SSH private key to sign in with")
    join.add_argument("--host-key", help="the node's SSH host key, as ssh-keyscan prints it")
    verbs.verb(join, _join, line)
    build = actions.add_parser(
        "build-node",
        parents=[output],
        help="build the images of apps on servers on a node",
        description="Build the images of apps on servers on the node whose Docker engine is"
        " at ENGINE, and push them from there: a node of the swarm, reached as `rivetr"
        " servers join` reaches one (--tls-dir, or --identity and --host-key, with the same"
        " defaults). Its keys are sealed in the log. --clear builds on the manager again.",
    )
    build.add_argument("engine", nargs="?", help="tcp://HOST:PORT or ssh://USER@HOST[:PORT]")
    build.add_argument("--tls-dir", type=Path, help="holds ca.pem, cert.pem and key.pem")
    build.add_argument("--identity", type=Path, help="the SSH private key to sign in with")
    build.add_argument("--host-key", help="the node's SSH host key, as ssh-keyscan prints it")
    build.add_argument("--clear", action="store_true", help="build on the manager again")
    verbs.verb(build, _build_node, line)
    label = actions.add_parser("label", parents=[output], help="set a server's labels (all)")
    label.add_argument("server", help="host name or node id")
    label.add_argument("labels", nargs="*", metavar="KEY=VALUE")
    verbs.verb(label, _label, line)
    for availability, said in (
        ("drain", "move its tasks off it"),
        ("pause", "no new tasks on it"),
        ("activate", "take tasks again"),
    ):
        parser = actions.add_parser(availability, parents=[output], help=said)
        parser.add_argument("server", help="host name or node id")
        verbs.verb(parser, _availability, line, availability=availability)
    registry = actions.add_parser(
        "registry",
        parents=[output],
        help="set the registry the servers pull from",
        description="The registry every server pulls the apps' images from, and the account"
        f" to push and pull as: its password is read from ${PASSWORD_ENV}, else stdin's first"
        " line (a terminal asks), never from the command line. The account is tried against"
        " the registry before it is kept; the password is sealed. --clear forgets it. --run"
        " runs one here instead, on the manager, at its address and --port: every server's"
        " engine is handed its CA and a client certificate, the only client it takes; --stop"
        " stops it (its images are kept in the volume rivetr-registry).",
    )
    registry.add_argument("address", nargs="?", help="host[:port], as image names start")
    registry.add_argument("--username", default="", help="the account, if the registry wants one")
    registry.add_argument("--clear", action="store_true", help="forget the registry set")
    registry.add_argument(
        "--run",
        dest="run_here",
        action="store_true",
        help="run the servers' registry on the manager",
    )
    registry.add_argument(
        "--port", type=int, default=5000, help="where the registry run here answers (5000)"
    )
    registry.add_argument(
        "--stop", dest="stop_here", action="store_true", help="stop the registry run here"
    )
    verbs.verb(registry, _registry, line)
    remove = actions.add_parser("remove", parents=[output], help="remove a server")
    remove.add_argument("server", help="host name or node id")
    remove.add_argument("--force", action="store_true", help="even while it is up")
    verbs.verb(remove, _remove, line)


def line(item: Any) -> str:
    from rivetr.service.commands.server_views import (
        BuildNodeView,
        InvitationView,
        JoinCommand,
        RegistryView,
        ServerView,
        SwarmView,
    )

    if isinstance(item, BuildNodeView):
        return f"images of apps on servers are built on {item.hostname} ({item.engine})"
    if isinstance(item, RegistryView):
        if item.source == "hosted":
            return (
                f"images for the servers go to {item.address}, the registry run on the manager"
                " (each server's engine presents its client certificate)"
            )
        account = f" as {item.username}" if item.username else " (no account)"
        return f"images for the servers go to {item.address}{account}"

    if isinstance(item, SwarmView):
        if not item.active:
            failed = f" (the last attempt failed: {item.init_failure})" if item.init_failure else ""
            return f"no swarm: `rivetr servers init --advertise-addr ADDRESS` makes one{failed}"
        rows = [line(server) for server in item.servers]
        rows += [
            f"{i.name}\tinvited ({i.role}{f', through {i.engine}' if i.engine else ''})"
            f"\tuntil {i.expires_at}"
            for i in item.invited
        ]
        if item.registry is not None:
            rows.append(line(item.registry))
        if item.build_node is not None:
            rows.append(line(item.build_node))
        return "\n".join(rows)
    if isinstance(item, ServerView):
        labels = ",".join(f"{k}={v}" for k, v in sorted(item.labels.items()))
        memory = f"{item.memory_bytes / 2**30:.1f} GiB"
        fields = [item.hostname, item.role, item.state, item.availability, item.address]
        fields += [f"{item.cpus:g} cpus", memory, labels, item.node_id[:12]]
        return "\t".join(fields)
    if isinstance(item, JoinCommand):
        return item.command
    if isinstance(item, InvitationView):
        return (
            f"{item.name} joined through {item.engine} as a {item.role}: listed once the swarm"
            " has it (`rivetr servers`)"
        )
    return str(item)


async def _list(services: Any, args: argparse.Namespace) -> Any:
    return await services.servers.swarm(cli_actor())


async def _with_engine(services: Any) -> None:
    """This process runs no engine monitor: find the engine for the port to speak to."""
    runtime = await connect_engine(services.settings)
    if runtime is not None:
        try:
            services.swarm_engine.found = await runtime.ping()
        finally:
            await runtime.close()


async def _init(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.swarm import InitSwarm

    await _with_engine(services)
    made = await services.servers.init(cli_actor(), InitSwarm(advertise_addr=args.advertise_addr))
    if made.init_pending:
        print("rivetr: asked; `rivetr serve` makes the swarm when it runs", file=sys.stderr)
    return made


async def _invite(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.swarm import InviteNode

    await _with_engine(services)
    role = "manager" if args.manager else "worker"
    join = await services.servers.invite(cli_actor(), InviteNode(name=args.name, role=role))
    if not args.json:
        print(f"run this as root on {join.name} (until {join.expires_at}):", file=sys.stderr)
    return join


async def _join(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.swarm import JoinNode
    from rivetr.service.commands.servers import EngineCredentials

    role = "manager" if args.manager else "worker"
    # checked as the API's body would be
    command = msgspec.convert({"engine": args.engine, "role": role}, JoinNode)
    credentials = _ssh_credentials(args) if args.engine.startswith("ssh://") else _pems(args)
    await _with_engine(services)
    return await services.servers.join(cli_actor(), command, EngineCredentials(**credentials))


async def _build_node(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.swarm_build import SetBuildNode
    from rivetr.service.commands.servers import EngineCredentials

    if args.clear == bool(args.engine):
        raise verbs.Usage("name the build node's engine (tcp://... or ssh://...), or --clear")
    if args.clear:
        await services.servers.clear_build_node(cli_actor())
        return "images of apps on servers are built on the manager again"
    command = msgspec.convert({"engine": args.engine}, SetBuildNode)  # as the API's body is
    credentials = _ssh_credentials(args) if args.engine.startswith("ssh://") else _pems(args)
    await _with_engine(services)
    return await services.servers.set_build_node(
        cli_actor(), command, EngineCredentials(**credentials)
    )


def _pems(args: argparse.Namespace) -> dict[str, str]:
    folder = args.tls_dir or Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    pems = {}
    for name in ("ca", "cert", "key"):
        try:
            pems[name] = (folder / f"{name}.pem").read_text()
        except OSError as exc:
            raise verbs.Usage(f"{name}.pem cannot be read from {folder}: {exc.strerror}") from None
    return pems


def _ssh_credentials(args: argparse.Namespace) -> dict[str, str]:
    from rivetr.adapters.swarm.ssh_tunnel import SshTarget

    home = Path.home() / ".ssh"
    defaults = [home / name for name in ("id_ed25519", "id_ecdsa", "id_rsa")]
    identity = args.identity or next((p for p in defaults if p.is_file()), None)
    if identity is None:
        raise verbs.Usage(f"no SSH key in {home} (id_ed25519, id_ecdsa, id_rsa): pass --identity")
    try:
        ssh_key = identity.read_text()
    except OSError as exc:
        raise verbs.Usage(f"{identity} cannot be read: {exc.strerror}") from None
    host_key = args.host_key or _known_host(SshTarget.of(args.engine).known_as, home)
    return {"ssh_key": ssh_key, "host_key": host_key}


def _known_host(name: str, home: Path) -> str:
    """The node's line in the user's known_hosts (hashed names too, as ssh-keygen finds them)."""
    import subprocess

    known_hosts = home / "known_hosts"
    found = subprocess.run(
        ["ssh-keygen", "-F", name, "-f", str(known_hosts)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in found.stdout.splitlines() if line and not line.startswith("#")]
    if not lines:
        raise verbs.Usage(
            f"{name} is not in {known_hosts}: pass --host-key with the line `ssh-keyscan` prints"
            " for it, once checked against the node's own (ssh-keygen -lf /etc/ssh/ssh_host_*.pub)"
        )
    return lines[0]


async def _label(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.swarm import ChangeNode

    labels = verbs.pairs(args.labels, "a label")
    return await services.servers.change(cli_actor(), args.server, ChangeNode(labels=labels))


async def _availability(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.swarm import ChangeNode

    availability = "active" if args.availability == "activate" else args.availability
    change = ChangeNode(availability=availability)
    return await services.servers.change(cli_actor(), args.server, change)


async def _remove(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.swarm import RemoveNode

    await services.servers.remove(cli_actor(), args.server, RemoveNode(force=args.force))
    return f"server {args.server} removed"


async def _registry(services: Any, args: argparse.Namespace) -> Any:
    import msgspec

    from rivetr.domain.swarm_registry import HostRegistry, SetRegistry

    given = {"ADDRESS": args.address, "--clear": args.clear}
    given |= {"--run": args.run_here, "--stop": args.stop_here}
    chosen = [name for name, asked in given.items() if asked]
    if len(chosen) > 1:
        raise verbs.Usage(f"one of ADDRESS, --clear, --run and --stop, not {' and '.join(chosen)}")
    if args.clear:
        await services.servers.clear_registry(cli_actor())
        return "the registry set for the servers is forgotten"
    if args.run_here or args.stop_here:
        await _with_engine(services)
    if args.run_here:
        asked = msgspec.convert({"port": args.port}, HostRegistry)
        return await services.servers.host_registry(cli_actor(), asked)
    if args.stop_here:
        await services.servers.stop_hosted_registry(cli_actor())
        return "the registry run on the manager is stopped; its images stay in its volume"
    if not args.address:
        raise verbs.Usage("name the registry (host[:port]), or --clear, --run or --stop")
    password = ""
    if args.username:
        password = os.environ.get(PASSWORD_ENV) or StdinLines().next(
            f"{args.username}'s password at {args.address}"
        )
    await _with_engine(services)
    fields = {"address": args.address, "username": args.username, "password": password}
    asked = msgspec.convert(fields, SetRegistry)  # checked as the API's body would be
    return await services.servers.set_registry(cli_actor(), asked)
