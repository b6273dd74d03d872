"""Consul's DNS interface: names.py reads a question, resolver.py answers it from the state view
(pure), truncation.py fits it to UDP or TCP, packet.py turns bytes into bytes (and errors into
RCODEs), server.py is the asyncio UDP/TCP shell that also forwards to recursors."""

from proconsul.dns.server import DnsServer
from proconsul.dns.settings import DnsSettings

__all__ = ["DnsServer", "DnsSettings"]
