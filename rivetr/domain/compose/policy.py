"""No way out of the container: what a compose file may ask of the host. A team admin writes
the file; only an instance admin may allow a team more (`Allowances`), and some things no one
may allow: the engine's socket and data (all of `/run`), `/`, `/proc`, `/etc`, Rivetr's own
data, another stack's volumes. Every refusal names the key and its line; all are raised together.

Host ports already taken are not weighed here: the claims aggregate decides them, from
`host_ports`."""

from __future__ import annotations

import msgspec

from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.escapes import labels, service_escapes, stack_file, volume_options
from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.refusals import Collected
from rivetr.domain.compose.where import Where

__all__ = ["Allowances", "host_ports", "refusals"]


def refusals(
    project: ComposeProject, where: Where, allowances: Allowances, *, data_dir: str
) -> None:
    """Refuses what `project` asks of the host beyond what `allowances` allow.

    Args:
        project: the stack, as `read_model` read it.
        where: where each key was written.
        allowances: what an instance admin allowed the stack's team.
        data_dir: Rivetr's data directory, absolute: never reachable from a stack.

    Raises:
        ComposeError: each refusal, naming the key and its line (several at once as
            `ComposeRefusals`).
        ValueError: `data_dir` is not absolute.
    """
    if not data_dir.startswith("/"):
        raise ValueError(f"the data directory must be absolute, not {data_dir!r}")
    found = Collected(where)
    for name, service in project.services.items():
        service_escapes(service, ("services", name), allowances, data_dir, found)
    for kind in ("networks", "volumes", "secrets", "configs"):
        parts: dict[str, msgspec.Struct] = getattr(project, kind)
        for name, part in parts.items():
            if getattr(part, "external", False):
                found.refuse(
                    f"external {kind} are not the stack's own (another team's?); "
                    "Rivetr attaches only what the stack makes",
                    (kind, name, "external"),
                )
            labels(getattr(part, "labels", {}), (kind, name, "labels"), found)
            stack_file(getattr(part, "file", None), (kind, name, "file"), found)
    for name, volume in project.volumes.items():
        volume_options(volume.driver_opts, ("volumes", name), allowances, data_dir, found)
    found.raise_any()


def host_ports(project: ComposeProject) -> list[tuple[str, int, str]]:
    """Each host port the project publishes, as (service, port, protocol), a range as each of
    its ports; for the claims aggregate, which decides who holds a port."""
    found = []
    for name, service in project.services.items():
        for port in service.ports:
            low, _, high = (port.published or "0").partition("-")
            found += [(name, one, port.protocol) for one in range(int(low), int(high or low) + 1)]
    return [(name, port, protocol) for name, port, protocol in found if port]
