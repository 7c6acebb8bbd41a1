"""Short ports, volumes and devices read into their long forms as compose-go reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.compose.short_syntax import device, port_text, ports, volume
from rivetr.domain.compose.units import UnitError


def test_a_published_udp_port_on_one_address() -> None:
    assert ports("127.0.0.1:8080:80/udp") == [
        {"target": 80, "protocol": "udp", "host_ip": "127.0.0.1", "published": "8080"}
    ]


def test_a_range_becomes_a_port_each() -> None:
    assert ports("9090-9091:8080-8081") == [
        {"target": 8080, "protocol": "tcp", "published": "9090"},
        {"target": 8081, "protocol": "tcp", "published": "9091"},
    ]
    assert [p["target"] for p in ports("3001-3005")] == [3001, 3002, 3003, 3004, 3005]


def test_a_host_range_for_one_container_port_is_left_to_the_engine() -> None:
    assert ports("8000-8010:80") == [{"target": 80, "protocol": "tcp", "published": "8000-8010"}]


def test_an_ipv6_address_in_brackets() -> None:
    assert ports("[::1]:53:53/udp")[0]["host_ip"] == "::1"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no port"),
        ("1.2.3:80:80", "IP address"),
        ("80:80/icmp", "protocol"),
        ("70000", "container port"),
        ("8000-8001:80-82", "ranges"),
        ("abc", "container port"),
        ("80-70", "container port"),
    ],
)
def test_a_bad_port_is_refused_saying_why(spec: str, problem: str) -> None:
    with pytest.raises(UnitError, match=problem):
        ports(spec)


@given(
    st.integers(0, 65535),
    st.one_of(st.none(), st.integers(0, 65535).map(str)),
    st.sampled_from(["tcp", "udp", "sctp"]),
    st.sampled_from([None, "127.0.0.1", "::1", "0.0.0.0"]),
)
def test_a_port_written_short_reads_back_the_same(
    target: int, published: str | None, protocol: str, host_ip: str | None
) -> None:
    (read,) = ports(port_text(target, published, protocol, host_ip))
    assert (read["target"], read.get("published"), read["protocol"], read.get("host_ip")) == (
        target,
        published,
        protocol,
        host_ip,
    )


def test_short_volumes() -> None:
    assert volume("/var/lib/anonymous") == {
        "type": "volume",
        "target": "/var/lib/anonymous",
        "volume": {},
    }
    assert volume("name:/y") == {"type": "volume", "source": "name", "target": "/y", "volume": {}}
    assert volume("./x:/y:ro") == {
        "type": "bind",
        "source": "./x",
        "target": "/y",
        "bind": {"create_host_path": True},
        "read_only": True,
    }
    assert volume("/abs:/y:rw,z") == {
        "type": "bind",
        "source": "/abs",
        "target": "/y",
        "bind": {"create_host_path": True, "selinux": "z"},
        "read_only": False,
    }
    assert volume("data:/y:nocopy")["volume"] == {"nocopy": True}
    assert volume("~/c:/etc/c:cached")["consistency"] == "cached"


def test_a_bind_option_on_a_named_volume_is_kept_as_compose_go_keeps_it() -> None:
    assert volume("db:/var/lib/postgresql/data:Z")["bind"] == {"selinux": "Z"}
    assert volume("nextcloud:/var/www/html:z,ro")["read_only"] is True


@pytest.mark.parametrize("spec", ["", "a:b:c:d", "a::b", "./x:/y:rx", "name:/y:rshared,q"])
def test_a_bad_volume_is_refused(spec: str) -> None:
    with pytest.raises(UnitError, match="volume"):
        volume(spec)


def test_short_devices() -> None:
    assert device("/dev/ttyUSB0") == {"source": "/dev/ttyUSB0", "target": "/dev/ttyUSB0"}
    assert device("/dev/a:/dev/b:rwm") == {
        "source": "/dev/a",
        "target": "/dev/b",
        "permissions": "rwm",
    }
    assert device("/dev/a:r")["permissions"] == "r"
    with pytest.raises(UnitError):
        device("/dev/a:/dev/b:x")
