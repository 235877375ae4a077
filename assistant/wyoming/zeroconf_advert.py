"""Announces the server on the local network (mDNS, `_wyoming._tcp`), so Home Assistant finds it
and offers to add it under Settings → Devices & services."""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)
SERVICE_TYPE = "_wyoming._tcp.local."
MDNS_GROUP = "224.0.0.251"


def local_address() -> str:
    """This machine's address on the network that reaches the mDNS group (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((MDNS_GROUP, 1))
        return probe.getsockname()[0]


class ZeroconfAdvert:
    """One `_wyoming._tcp` service record for `port` at `host` (this machine's address when None)."""

    def __init__(self, name: str, port: int, host: str | None = None) -> None:
        self.name = name
        self.port = port
        self.host = host
        self._zeroconf = None
        self._info = None

    async def register(self) -> None:
        """Announces the service; raises OSError when the network cannot carry mDNS."""
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf  # wyoming's `zeroconf` extra

        host = self.host or local_address()
        self._info = AsyncServiceInfo(SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}",
                                      addresses=[socket.inet_aton(host)], port=self.port,
                                      server=f"{socket.gethostname()}.local.")
        self._zeroconf = AsyncZeroconf(interfaces=[host])
        await self._zeroconf.async_register_service(self._info)
        log.info("announced %s on %s:%s over zeroconf", self._info.name, host, self.port)

    async def close(self) -> None:
        if self._zeroconf is not None:
            if self._info is not None:
                await self._zeroconf.async_unregister_service(self._info)
            await self._zeroconf.async_close()
            self._zeroconf = None
