"""The listening sockets of `tracemark serve --workers N`: one per worker process (SO_REUSEPORT).

uvicorn's workers share one listening socket, and whichever wakes first accepts every connection
waiting: 50 scanners connecting together were split 44/6, 39/11 and 17/33 between two processes,
and the busy one's queue set everyone's latency while the other idled. With a socket of its own
in each worker, bound to the same address with SO_REUSEPORT, the kernel spreads connections over
the workers by a hash of their addresses (29/21, 22/28, 25/25). uvicorn's supervisor (restarts,
signals) is kept: it hands its sockets to each worker by pickling them, and a `ReusePortSocket`
unpickles as a new socket of the worker's own.
"""

from __future__ import annotations

import socket

__all__ = ["ReusePortSocket", "listening_address"]


class ReusePortSocket(socket.socket):
    """A socket bound with SO_REUSEPORT that a worker process receives as a new one of its own."""

    def __reduce__(self) -> tuple[object, tuple[int, tuple[str, int]]]:
        host, port = self.getsockname()[:2]
        return _reuse_port, (self.family, (host, port))


def listening_address(host: str, port: int) -> ReusePortSocket:
    """The workers' address, held by the supervisor (bound, never listening: it is handed no connection).

    SO_REUSEPORT would let it share a port some other server of this user listens on, so it
    first binds the address plainly: a port in use fails here, as uvicorn's own socket would.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections closing on the port don't count
        probe.bind((host, port))
    return _reuse_port(family, (host, port))


def _reuse_port(family: int, address: tuple[str, int]) -> ReusePortSocket:
    sock = ReusePortSocket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock
