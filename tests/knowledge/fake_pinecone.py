"""A loopback fake of Pinecone's data plane, speaking the wire format the SDK sends.

Routes (JSON over HTTP, as ``pinecone.AsyncIndex`` calls them): ``POST /vectors/upsert``
``{"vectors": [{"id", "values", "metadata"}], "namespace"?}`` -> ``{"upsertedCount"}``;
``POST /query`` ``{"topK", "vector", "namespace"?, "includeMetadata", "includeValues"}`` ->
``{"matches": [{"id", "score", "metadata"?}], "namespace", "usage"}`` ranked by cosine;
``POST /vectors/delete`` ``{"namespace", "ids"}`` -> ``{}``; ``POST /describe_index_stats``.
Requests without the ``Api-Key`` header are refused with 401, as the service does.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakePinecone:
    api_key: str
    dimension: int
    namespaces: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    async def _handle(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        if request.headers.get("Api-Key") != self.api_key:
            return web.json_response({"error": {"code": 16, "message": "bad key"}}, status=401)
        body = await request.json()
        self.requests.append((request.path, body))
        handler = {
            "/vectors/upsert": self._upsert,
            "/query": self._query,
            "/vectors/delete": self._delete,
            "/describe_index_stats": self._stats,
        }[request.path]
        return handler(body)

    def _upsert(self, body: dict[str, Any]) -> web.Response:
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        for vector in body["vectors"]:
            if len(vector["values"]) != self.dimension:
                return web.json_response(
                    {
                        "code": 3,
                        "message": f"Vector dimension {len(vector['values'])} does not "
                        f"match the dimension of the index {self.dimension}",
                    },
                    status=400,
                )
            space[vector["id"]] = vector
        return web.json_response({"upsertedCount": len(body["vectors"])})

    def _query(self, body: dict[str, Any]) -> web.Response:
        namespace = body.get("namespace", "")
        query = body["vector"]
        scored = []
        for vector in self.namespaces.get(namespace, {}).values():
            dot = sum(a * b for a, b in zip(query, vector["values"], strict=True))
            norm = math.sqrt(sum(a * a for a in query)) * math.sqrt(
                sum(b * b for b in vector["values"])
            )
            scored.append((dot / norm if norm else 0.0, vector))
        scored.sort(key=lambda pair: -pair[0])
        matches = []
        for score, vector in scored[: body["topK"]]:
            match: dict[str, Any] = {"id": vector["id"], "score": score, "values": []}
            if body.get("includeMetadata"):
                match["metadata"] = vector.get("metadata", {})
            matches.append(match)
        return web.json_response(
            {"matches": matches, "namespace": namespace, "usage": {"readUnits": 1}}
        )

    def _delete(self, body: dict[str, Any]) -> web.Response:
        space = self.namespaces.get(body.get("namespace", ""), {})
        for vector_id in body.get("ids", []):
            space.pop(vector_id, None)
        return web.json_response({})

    def _stats(self, _body: dict[str, Any]) -> web.Response:
        return web.json_response(
            {
                "namespaces": {
                    name or "__default__": {"vectorCount": len(space)}
                    for name, space in self.namespaces.items()
                },
                "dimension": self.dimension,
                "indexFullness": 0.0,
                "totalVectorCount": sum(len(s) for s in self.namespaces.values()),
            }
        )


@asynccontextmanager
async def serve_fake_pinecone(*, api_key: str, dimension: int) -> AsyncIterator[FakePinecone]:
    fake = FakePinecone(api_key=api_key, dimension=dimension)
    app = web.Application()
    app.router.add_post("/{tail:.*}", fake._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
