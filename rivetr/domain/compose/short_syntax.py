"""The one-string forms of ports, volumes and devices (`127.0.0.1:8080:80/udp`, `./x:/y:ro`,
`/dev/a:/dev/b:rwm`) read into their long forms as compose-go reads them, and written back."""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from rivetr.domain.compose.units import UnitError

PROTOCOLS: Final = ("tcp", "udp", "sctp")
PROPAGATIONS: Final = frozenset({"rprivate", "private", "rshared", "shared", "rslave", "slave"})
CONSISTENCIES: Final = frozenset({"consistent", "cached", "delegated"})


def port_range(text: str, what: str) -> tuple[int, int]:
    """`8080` or `8000-8010`, each port 0..65535, the start not after the end."""
    start, dash, end = text.partition("-")
    try:
        low, high = int(start, 10), int(end if dash else start, 10)
    except ValueError:
        raise UnitError(f"invalid {what}: {text!r}") from None
    if not (0 <= low <= high <= 65535):
        raise UnitError(f"invalid {what}: {text!r}")
    return low, high


def ports(spec: str) -> list[dict[str, Any]]:
    """A short port (`3000`, `3001-3005`, `8000:8000`, `127.0.0.1:5000-5010:5000-5010/udp`,
    `[::1]:80:80`) as long ones: a range becomes one mapping per port; a host range against one
    container port stays a range, for the engine to pick from.

    Raises:
        UnitError: the spec names no port, a bad address, protocol or range.
    """
    parts = spec.split(":")
    container = parts[-1]
    host = parts[-2] if len(parts) > 1 else ""
    address = ":".join(parts[:-2])
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise UnitError(f"invalid IP address: {address}") from None
    container, _, protocol = container.partition("/")
    protocol = (protocol or "tcp").lower()
    if not container:
        raise UnitError(f"no port specified: {spec}")
    if protocol not in PROTOCOLS:
        raise UnitError(f"invalid protocol: {protocol}")
    start, end = port_range(container, "container port")
    host_start, host_end = port_range(host, "host port") if host else (0, 0)
    if host and start != end and end - start != host_end - host_start:
        raise UnitError(
            f"invalid ranges specified for container and host ports: {container} and {host}"
        )
    mappings = []
    for offset in range(end - start + 1):
        mapping: dict[str, Any] = {"target": start + offset, "protocol": protocol}
        if address:
            mapping["host_ip"] = address
        if host:
            mapping["published"] = (
                f"{host_start}-{host_end}"
                if start == end and host_start != host_end
                else str(host_start + offset)
            )
        mappings.append(mapping)
    return mappings


def port_text(target: int, published: str | None, protocol: str, host_ip: str | None) -> str:
    """A long port written back as its short form (`ports` reads it back the same)."""
    if host_ip:
        address = f"[{host_ip}]" if ":" in host_ip else host_ip
        return f"{address}:{published or ''}:{target}/{protocol}"
    return (f"{published}:" if published else "") + f"{target}/{protocol}"


def volume(spec: str) -> dict[str, Any]:
    """A short volume as a long one: `/in/container` (anonymous), `name:/y`, `./x:/y:ro`,
    `/abs:/y:rw,z`. A source starting with `.`, `/` or `~` is a bind (created if missing, as the
    short form always did); anything else names a volume.

    Raises:
        UnitError: empty, too many colons, or an option compose does not know.
    """
    if not spec:
        raise UnitError("invalid empty volume spec")
    sections = spec.split(":")
    if len(sections) > 3:
        raise UnitError(f"invalid volume {spec!r}: too many colons")
    if any(not section for section in sections):
        raise UnitError(f"invalid volume {spec!r}: empty section between colons")
    if len(sections) == 1:
        return {"type": "volume", "target": spec, "volume": {}}
    source, target = sections[0], sections[1]
    bind = source[:1] in (".", "/", "~")
    mount: dict[str, Any] = {"type": "bind" if bind else "volume", "source": source}
    mount["target"] = target
    mount["bind" if bind else "volume"] = {"create_host_path": True} if bind else {}
    for option in sections[2].split(",") if len(sections) == 3 else ():
        _volume_option(mount, option, spec)
    return mount


def _volume_option(mount: dict[str, Any], option: str, spec: str) -> None:
    # as compose-go: a bind's options on a named volume (`db:/data:Z`, as Nextcloud's
    # examples write) are kept under `bind`, a volume's on a bind under `volume`
    if option in ("ro", "rw"):
        mount["read_only"] = option == "ro"
    elif option == "nocopy":
        mount.setdefault("volume", {})["nocopy"] = True
    elif option in PROPAGATIONS:
        mount.setdefault("bind", {})["propagation"] = option
    elif option in ("z", "Z"):
        mount.setdefault("bind", {})["selinux"] = option
    elif option in CONSISTENCIES:
        mount["consistency"] = option
    else:
        raise UnitError(f"invalid volume {spec!r}: unknown option {option!r}")


def device(spec: str) -> dict[str, Any]:
    """`/dev/a`, `/dev/a:rw`, `/dev/a:/dev/b` or `/dev/a:/dev/b:rwm` as a long device, as the
    Docker CLI reads one.

    Raises:
        UnitError: more than three parts, or permissions other than r, w and m.
    """
    sections = spec.split(":")
    if len(sections) > 3 or not all(sections):
        raise UnitError(f"invalid device {spec!r}")
    if len(sections) == 2 and _permissions(sections[1]):
        sections = [sections[0], sections[0], sections[1]]
    found: dict[str, Any] = {"source": sections[0], "target": sections[-1]}
    if len(sections) == 3:
        if not _permissions(sections[2]):
            raise UnitError(f"invalid device permissions {sections[2]!r} in {spec!r}")
        found["target"] = sections[1]
        found["permissions"] = sections[2]
    return found


def _permissions(text: str) -> bool:
    return 0 < len(text) <= 3 and not set(text) - set("rwm")
