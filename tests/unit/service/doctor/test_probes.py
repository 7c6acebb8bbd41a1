"""The doctor's port probe on real loopback sockets: a port whose last listener just stopped
(its closed connections lingering in TIME_WAIT) is free, as Rivetr's proxy would find it; a
port with a listener is taken."""

from __future__ import annotations

import socket

from rivetr.service.doctor.probes import port_state


def test_a_port_a_server_just_left_is_free_and_one_listened_on_is_taken() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server's side closes first: it waits in TIME_WAIT on `port`
    client.recv(1)
    client.close()
    assert port_state(port)[0] == "taken"  # still listened on
    listener.close()

    assert port_state(port) == ("free", "")
