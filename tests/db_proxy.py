"""A loopback TCP proxy (asyncio) in front of a real server, for fault tests.

Modes, switched at any time:

- ``forward``: bytes flow both ways (the link is fine);
- ``refuse``: nothing listens on the port (connections are refused, open ones reset);
- ``blackhole``: the link goes silent: new connections are accepted and never
  answered, and connections already open stop forwarding in both directions.
  A connection that went silent stays silent after the link returns (as when a
  NAT or firewall forgot it), so only new connections work again;
- :meth:`TcpProxy.drop` resets every open connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["forward", "refuse", "blackhole"]


@dataclass(eq=False)
class _Pipe:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    silent: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self.mode: Mode = "forward"
        self.port = 0
        self.accepted = 0

    async def start(self) -> TcpProxy:
        await self._listen()
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def set_mode(self, mode: Mode) -> None:
        if mode == self.mode:
            return
        if mode == "refuse":  # the server went away: open connections are reset too
            self.drop()
            await self._stop_listening()
        elif self.mode == "refuse":
            await self._listen()
        if mode == "blackhole":
            for pipe in self._pipes:
                pipe.silent = True
        self.mode = mode

    def drop(self) -> int:
        """Reset every open connection; returns how many."""
        pipes = list(self._pipes)
        for pipe in pipes:
            pipe.abort()
        self._pipes.clear()
        return len(pipes)

    async def close(self) -> None:
        self.drop()
        await self._stop_listening()

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        pipe = _Pipe(client=writer, silent=self.mode == "blackhole")
        self._pipes.add(pipe)
        try:
            if pipe.silent:  # accept, read and never answer
                await self._swallow(reader)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            except OSError:
                writer.transport.abort()
                return
            pipe.upstream = up_writer
            pipe.tasks = [
                asyncio.create_task(self._pump(reader, up_writer, pipe)),
                asyncio.create_task(self._pump(up_reader, writer, pipe)),
            ]
            await asyncio.gather(*pipe.tasks, return_exceptions=True)
        finally:
            self._pipes.discard(pipe)
            pipe.abort()

    @staticmethod
    async def _swallow(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pipe: _Pipe
    ) -> None:
        try:
            while data := await reader.read(65536):
                if pipe.silent:
                    continue  # the link is silent: the bytes go nowhere
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            if not pipe.silent:
                writer.transport.abort()
