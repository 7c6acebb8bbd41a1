"""What an instance admin has allowed one team's compose stacks to ask of the host; all off
by default (`policy.py` weighs a stack against them)."""

from __future__ import annotations

from typing import Literal

import msgspec

Namespace = Literal["network", "pid", "ipc", "userns", "uts", "cgroup"]


class Allowances(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`cap_add` holds capability names without `CAP_` (`NET_ADMIN`; `ALL` allows any);
    `bind_prefixes` absolute host paths a bind may be at or under (never the paths no stack
    may reach); `host_namespaces` the host's namespaces a service may join (`network_mode:
    host`, `pid: host`, or another container's); `unconfined` lets `security_opt` loosen
    seccomp, AppArmor or SELinux; `low_ports` lets a stack publish host ports below 1024."""

    privileged: bool = False
    cap_add: frozenset[str] = frozenset()
    devices: bool = False
    host_namespaces: frozenset[Namespace] = frozenset()
    unconfined: bool = False
    bind_prefixes: tuple[str, ...] = ()
    low_ports: bool = False
