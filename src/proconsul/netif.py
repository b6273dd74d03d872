"""The IPv4 address of a network interface, for `CONSUL_BIND_INTERFACE`-style settings."""

from __future__ import annotations

import socket
import struct

from proconsul.errors import ConfigError

__all__ = ["interface_ipv4"]

_SIOCGIFADDR = 0x8915  # Linux ioctl: get an interface's primary IPv4 address


def interface_ipv4(name: str) -> str:
    """Return the primary IPv4 address of interface `name` (Linux).

    Raises ConfigError, worded like the official Consul image's entrypoint, when the
    interface does not exist or has no IPv4 address."""
    try:
        import fcntl
    except ImportError:  # not Linux/Unix: no way to ask
        raise ConfigError(f"Could not find IP for interface '{name}', exiting") from None
    packed = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, packed)
        except OSError:
            raise ConfigError(f"Could not find IP for interface '{name}', exiting") from None
    return socket.inet_ntoa(answer[20:24])
