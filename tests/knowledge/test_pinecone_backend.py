"""The Pinecone backend through the real SDK (``pinecone.AsyncIndex``) against a loopback fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pinecone import AsyncIndex
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.errors import IndexBackendError
from knowledge.pinecone_index import PineconeIndex, vector_id
from knowledge.service import SHARED_NAMESPACE, KnowledgeBase
from tests.knowledge.fake_pinecone import FakePinecone, serve_fake_pinecone
from tests.knowledge.helpers import DIMENSION, HashingEmbedder

API_KEY = "pc-test-key"


@pytest.fixture
async def fake() -> AsyncIterator[FakePinecone]:
    async with serve_fake_pinecone(api_key=API_KEY, dimension=DIMENSION) as server:
        yield server


@pytest.fixture
async def index(fake: FakePinecone) -> AsyncIterator[AsyncIndex]:
    client = AsyncIndex(host=fake.url, api_key=API_KEY)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def kb(
    sqlite_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    index: AsyncIndex,
    embedder: HashingEmbedder,
) -> KnowledgeBase:
    return KnowledgeBase(PineconeIndex(sessionmaker=sessionmaker, index=index, embedder=embedder))


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The registry's database: SQLite is enough here (the local index tests cover both)."""
    return sqlite_url


GUIDE = """# Generator guide

## Fuel

Keep the diesel tank full in winter and drain the water separator monthly.

## Service

Change the engine oil and the oil filter every 250 run hours.

## Exercise

Run a standby generator for half an hour under load every month.
"""


async def test_ingest_upserts_into_the_site_namespace_and_search_cites(
    kb: KnowledgeBase, fake: FakePinecone, embedder: HashingEmbedder, tmp_path: Path
) -> None:
    guide = tmp_path / "generator.md"
    guide.write_text(GUIDE)
    report = await kb.ingest_path(guide, namespace="barn")
    assert [(f.status, f.chunks) for f in report.files] == [("added", 3)]

    path, body = fake.requests[0]
    assert path == "/vectors/upsert" and body["namespace"] == "barn"
    ids = [v["id"] for v in body["vectors"]]
    assert ids == [vector_id("barn", "generator.md", n) for n in range(3)]
    first = body["vectors"][0]
    assert len(first["values"]) == DIMENSION
    assert first["metadata"]["section"] == "Fuel"
    assert first["metadata"]["source"] == "generator.md"
    assert "water separator" in first["metadata"]["text"]
    assert fake.headers[0]["Api-Key"] == API_KEY
    assert fake.headers[0]["X-Pinecone-Api-Version"]

    hits = await kb.search("how often should the engine oil be changed", site="barn", top_k=2)
    queried = {b["namespace"] for p, b in fake.requests if p == "/query"}
    assert queried == {"barn", SHARED_NAMESPACE}
    assert hits[0].citation == "(generator.md § Service)"
    assert hits[0].namespace == "barn" and "250 run hours" in hits[0].text
    assert all(b["includeMetadata"] for p, b in fake.requests if p == "/query")

    # Unchanged: no embedding, no request.
    calls, requests = embedder.document_calls, len(fake.requests)
    assert [f.status for f in (await kb.ingest_path(guide, namespace="barn")).files] == ["skipped"]
    assert (embedder.document_calls, len(fake.requests)) == (calls, requests)


async def test_reingest_overwrites_and_deletes_left_over_chunks(
    kb: KnowledgeBase, fake: FakePinecone, tmp_path: Path
) -> None:
    guide = tmp_path / "generator.md"
    guide.write_text(GUIDE)
    await kb.ingest_path(guide, namespace="barn")
    assert len(fake.namespaces["barn"]) == 3

    guide.write_text("# Generator guide\n\n## Service\n\nChange the oil every 500 run hours.\n")
    report = await kb.ingest_path(guide, namespace="barn")
    assert [(f.status, f.chunks) for f in report.files] == [("replaced", 1)]
    deletes = [b for p, b in fake.requests if p == "/vectors/delete"]
    assert deletes == [
        {
            "namespace": "barn",
            "ids": [vector_id("barn", "generator.md", 1), vector_id("barn", "generator.md", 2)],
        }
    ]
    assert list(fake.namespaces["barn"]) == [vector_id("barn", "generator.md", 0)]
    [hit] = await kb.search("oil change interval", site="barn", top_k=1)
    assert "500 run hours" in hit.text and hit.citation == "(generator.md § Service)"


async def test_remove_deletes_every_vector_and_the_registry_row(
    kb: KnowledgeBase, fake: FakePinecone, tmp_path: Path
) -> None:
    guide = tmp_path / "generator.md"
    guide.write_text(GUIDE)
    await kb.ingest_path(guide, namespace="barn")
    assert await kb.remove("generator.md", namespace="barn") == 3
    deletes = [b for p, b in fake.requests if p == "/vectors/delete"]
    assert deletes == [
        {"namespace": "barn", "ids": [vector_id("barn", "generator.md", n) for n in range(3)]}
    ]
    assert not fake.namespaces["barn"]
    assert [d.source for d in await kb.index.list_documents(namespaces=["barn"])] == []
    assert await kb.remove("generator.md", namespace="barn") is None
    # Ingesting it again is a fresh add, not an "unchanged" skip.
    again = await kb.ingest_path(guide, namespace="barn")
    assert [f.status for f in again.files] == ["added"]


async def test_namespaces_are_isolated(
    kb: KnowledgeBase, fake: FakePinecone, tmp_path: Path
) -> None:
    barn = tmp_path / "barn.md"
    barn.write_text("# Barn\n\nThe barn transfer switch is behind the hay loft door.\n")
    home = tmp_path / "home.md"
    home.write_text("# Home\n\nThe home transfer switch is in the garage by the freezer.\n")
    await kb.ingest_path(barn, namespace="barn")
    await kb.ingest_path(home, namespace="home")
    assert set(fake.namespaces) == {"barn", "home"}
    at_home = await kb.search("transfer switch location", site="home", top_k=8)
    at_barn = await kb.search("transfer switch location", site="barn", top_k=8)
    # Each site sees its own document and the shared runbooks, never the other site's.
    assert {h.namespace for h in at_home} <= {"home", SHARED_NAMESPACE}
    assert {h.source for h in at_home if h.namespace == "home"} == {"home.md"}
    assert {h.namespace for h in at_barn} <= {"barn", SHARED_NAMESPACE}
    assert {h.source for h in at_barn if h.namespace == "barn"} == {"barn.md"}
    assert {b["namespace"] for p, b in fake.requests if p == "/query"} == {
        "home",
        "barn",
        SHARED_NAMESPACE,
    }


async def test_pinecone_errors_are_reported_and_keep_the_old_version(
    sessionmaker: async_sessionmaker[AsyncSession],
    fake: FakePinecone,
    embedder: HashingEmbedder,
    tmp_path: Path,
) -> None:
    wrong_key = AsyncIndex(host=fake.url, api_key="not-the-key")
    try:
        kb = KnowledgeBase(
            PineconeIndex(sessionmaker=sessionmaker, index=wrong_key, embedder=embedder)
        )
        note = tmp_path / "note.md"
        note.write_text("# Note\n\nThe spare inverter fuse is in the red box.\n")
        report = await kb.ingest_path(note, namespace="barn")
        [failed] = report.failed
        assert "Pinecone did not accept the chunks" in failed.error
        assert await kb.index.document_hash(namespace="barn", source="note.md") is None
        with pytest.raises(IndexBackendError, match="Pinecone could not be searched"):
            await kb.search("fuse", site="barn")
    finally:
        await wrong_key.close()


async def test_settings_choose_pinecone_only_with_both_keys(
    fake: FakePinecone,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from pydantic import SecretStr

    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("OPENAI_API_KEY", "PINECONE_API_KEY", "PINECONE_HOST", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)

    from bot.app import build_knowledge, open_pinecone_index
    from bot.settings import Settings

    both = Settings(
        pinecone_api_key=SecretStr(API_KEY),
        pinecone_host=fake.url,
        openai_api_key=SecretStr("sk-test"),
    )
    assert both.knowledge_backend == "pinecone"
    assert Settings(pinecone_api_key=SecretStr(API_KEY)).knowledge_backend == "local"
    assert Settings().knowledge_backend == "local"

    index = await open_pinecone_index(both)
    try:
        stats = await index.describe_index_stats()
        assert stats.dimension == DIMENSION
    finally:
        await index.close()
    knowledge = await build_knowledge(both, sessionmaker, fallback=False)
    try:
        assert knowledge.backend == "pinecone"
    finally:
        await knowledge.aclose()
    no_embeddings = await build_knowledge(
        Settings(pinecone_api_key=SecretStr(API_KEY), pinecone_host=fake.url), sessionmaker
    )
    assert no_embeddings.backend == "local"
