"""How the SSH forward to a node's engine is asked of `ssh`: the host key line it looks up,
and options that keep the user's keys, agent and configuration out of it. The forward itself
runs against the swarm lab's sshd in tests/contract/test_swarm_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.swarm import ssh_tunnel
from rivetr.adapters.swarm.ssh_tunnel import SshTarget


@pytest.mark.parametrize(
    ("url", "user", "host", "known_as"),
    [
        ("ssh://root@10.0.0.5", "root", "10.0.0.5", "10.0.0.5"),
        (
            "ssh://deploy@vps-2.example.com:2222",
            "deploy",
            "vps-2.example.com",
            "[vps-2.example.com]:2222",
        ),
        ("ssh://[fd00::5]:22", None, "fd00::5", "fd00::5"),
        ("ssh://root@[fd00::5]:2200", "root", "fd00::5", "[fd00::5]:2200"),
    ],
)
def test_a_url_names_the_user_the_host_and_its_known_hosts_name(
    url: str, user: str | None, host: str, known_as: str
) -> None:
    target = SshTarget.of(url)
    assert (target.user, target.host, target.known_as) == (user, host, known_as)
    assert target.known_hosts_line("ssh-ed25519 AAAA") == f"{known_as} ssh-ed25519 AAAA\n"


def test_ssh_is_asked_for_the_forward_alone_with_nothing_of_the_user_s() -> None:
    argv = ssh_tunnel._argv(
        SshTarget.of("ssh://root@10.0.0.5:2222"), Path("/d/key"), Path("/d/kh"), Path("/d/s")
    )
    assert argv[:3] == ["ssh", "-F", "/dev/null"]  # no ~/.ssh/config
    assert argv[-4:] == ["-L", f"/d/s:{ssh_tunnel.REMOTE_SOCKET}", "--", "10.0.0.5"]
    options = {argv[i + 1] for i, word in enumerate(argv) if word == "-o"}
    for option in (
        "BatchMode=yes",
        "IdentitiesOnly=yes",
        "IdentityFile=/d/key",
        "IdentityAgent=none",
        "UserKnownHostsFile=/d/kh",
        "GlobalKnownHostsFile=/dev/null",
        "StrictHostKeyChecking=yes",
    ):
        assert option in options
    assert argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "2222"]
    assert argv[argv.index("-l") : argv.index("-l") + 2] == ["-l", "root"]
