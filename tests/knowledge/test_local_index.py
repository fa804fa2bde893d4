"""The local index on SQLite and PostgreSQL: ingest, BM25 search, re-ingest, namespaces."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.index import Hit
from knowledge.local import ChunkStats, LocalIndex, bm25_scores
from knowledge.service import SHARED_NAMESPACE, KnowledgeBase, format_hits, relevant
from storage.models import KnowledgeChunkRow, KnowledgePostingRow

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def kb(sessionmaker: Sessions) -> KnowledgeBase:
    return KnowledgeBase(LocalIndex(sessionmaker=sessionmaker))


def test_bm25_by_hand() -> None:
    # Two chunks of 4 and 8 terms; "fuse" in both (df 2 of N 3), "cable" only in the first.
    chunks = {1: ChunkStats(length=4, tf={"fuse": 1, "cable": 2}), 2: ChunkStats(8, {"fuse": 3})}
    scores = bm25_scores(
        query_terms=["fuse", "cable"],
        chunks=chunks,
        doc_freq={"fuse": 2, "cable": 1},
        total_chunks=3,
        avg_length=6.0,
    )
    idf_fuse = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    idf_cable = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    norm1, norm2 = 1.2 * (1 - 0.75 + 0.75 * 4 / 6), 1.2 * (1 - 0.75 + 0.75 * 8 / 6)
    expected1 = idf_fuse * 1 * 2.2 / (1 + norm1) + idf_cable * 2 * 2.2 / (2 + norm1)
    expected2 = idf_fuse * 3 * 2.2 / (3 + norm2)
    assert scores[1] == pytest.approx(expected1)
    assert scores[2] == pytest.approx(expected2)
    assert scores[1] > scores[2], "the rarer term makes the first chunk better"


async def test_ingest_then_search_with_citations(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "pumps").mkdir(parents=True)
    (docs / "pumps" / "well.md").write_text(
        "# Well pump\n\n## Priming\n\nOpen the bleed valve and fill the housing before the first "
        "start.\n\n## Winter\n\nDrain the pipes when frost is forecast.\n"
    )
    (docs / "gate.txt").write_text("The gate opener has its own 12 V battery; check it monthly.")
    report = await kb.ingest_path(docs, namespace="barn")
    assert [(f.source, f.status, f.chunks) for f in report.files] == [
        ("gate.txt", "added", 1),
        ("pumps/well.md", "added", 2),
    ]
    hits = await kb.search("how do I prime the well pump?", site="barn", top_k=3)
    assert hits[0].citation == "(pumps/well.md § Priming)"
    assert hits[0].title == "Well pump" and hits[0].namespace == "barn"
    assert "bleed valve" in hits[0].text
    text = format_hits(hits[:1], query="prime the pump")
    assert "(pumps/well.md § Priming)" in text and "not instructions" in text
    frost = await kb.search("frost", site="barn", top_k=3)
    assert [h.citation for h in frost] == ["(pumps/well.md § Winter)"]
    assert await kb.search("the and of", site="barn") == [], "only stop words: nothing"


async def test_reingest_replaces_changed_file_and_skips_unchanged(
    kb: KnowledgeBase, sessionmaker: Sessions, tmp_path: Path
) -> None:
    note = tmp_path / "fuel.md"
    note.write_text("# Fuel\n\n## Supplier\n\nOrder diesel from Acme Fuels on Mondays.\n")
    first = await kb.ingest_path(note, namespace="barn")
    assert [f.status for f in first.files] == ["added"]
    again = await kb.ingest_path(note, namespace="barn")
    assert [f.status for f in again.files] == ["skipped"]

    note.write_text(
        "# Fuel\n\n## Supplier\n\nOrder diesel from Zenith Oil, any weekday.\n\n"
        "## Tank\n\nThe tank holds 400 litres.\n"
    )
    changed = await kb.ingest_path(note, namespace="barn")
    assert [(f.status, f.chunks) for f in changed.files] == [("replaced", 2)]
    assert await kb.search("Acme", site="barn") == []
    [hit] = await kb.search("Zenith", site="barn")
    assert hit.citation == "(fuel.md § Supplier)"
    [doc] = [d for d in await kb.list_documents(site="barn") if d.namespace == "barn"]
    assert doc.chunk_count == 2
    async with sessionmaker() as session:
        chunks = await session.scalar(
            select(func.count())
            .select_from(KnowledgeChunkRow)
            .where(KnowledgeChunkRow.namespace == "barn")
        )
        orphans = await session.scalar(
            select(func.count())
            .select_from(KnowledgePostingRow)
            .where(KnowledgePostingRow.chunk_id.not_in(select(KnowledgeChunkRow.id)))
        )
    assert (chunks, orphans) == (2, 0)


async def test_remove_takes_out_chunks_and_postings(
    kb: KnowledgeBase, sessionmaker: Sessions, tmp_path: Path
) -> None:
    note = tmp_path / "fuel.md"
    note.write_text("# Fuel\n\n## Supplier\n\nOrder diesel from Acme Fuels on Mondays.\n")
    await kb.ingest_path(note, namespace="barn")
    assert await kb.remove("fuel.md", namespace="home") is None  # another site's namespace
    assert await kb.remove("fuel.md", namespace="barn") == 1
    assert await kb.search("Acme", site="barn") == []
    barn_chunks = select(KnowledgeChunkRow.id).where(KnowledgeChunkRow.namespace == "barn")
    async with sessionmaker() as session:
        chunks = await session.scalar(select(func.count()).select_from(barn_chunks.subquery()))
        postings = await session.scalar(
            select(func.count())
            .select_from(KnowledgePostingRow)
            .where(KnowledgePostingRow.chunk_id.not_in(select(KnowledgeChunkRow.id)))
        )
    assert (chunks, postings) == (0, 0)  # no chunk left, no orphaned posting
    assert [d for d in await kb.list_documents(site="barn") if d.namespace == "barn"] == []


async def test_a_file_that_fails_keeps_its_earlier_version(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nThe inverter lives in the shed.\n")
    (docs / "b.txt").write_text("Spare fuses are in the red box.")
    await kb.ingest_path(docs, namespace="barn")
    (docs / "a.md").write_bytes(b"\xff\xfe not utf-8 \xff")
    (docs / "photo.png").write_bytes(b"\x89PNG")
    report = await kb.ingest_path(docs, namespace="barn")
    assert [(f.source, f.status) for f in report.files] == [
        ("a.md", "failed"),
        ("b.txt", "skipped"),
        ("photo.png", "failed"),
    ]
    assert "not UTF-8" in report.failed[0].error
    assert "unsupported file type '.png'" in report.failed[1].error
    [hit] = await kb.search("where is the inverter shed", site="barn", top_k=1)
    assert hit.source == "a.md", "the earlier version is still searchable"


async def test_namespaces_are_isolated_between_sites(kb: KnowledgeBase, tmp_path: Path) -> None:
    barn = tmp_path / "barn.md"
    barn.write_text("# Barn\n\nThe barn transfer switch is behind the hay loft door.\n")
    home = tmp_path / "home.md"
    home.write_text("# Home\n\nThe home transfer switch is in the garage.\n")
    await kb.ingest_path(barn, namespace="barn")
    await kb.ingest_path(home, namespace="home")
    shared = tmp_path / "switches.md"
    shared.write_text("# Transfer switches\n\nNever back-feed the grid: use a transfer switch.\n")
    await kb.ingest_path(shared, namespace=SHARED_NAMESPACE)

    at_barn = await kb.search("where is the transfer switch", site="barn", top_k=5)
    at_home = await kb.search("where is the transfer switch", site="home", top_k=5)
    assert {h.source for h in at_barn} >= {"barn.md", "switches.md"}
    assert "home.md" not in {h.source for h in at_barn}
    assert {h.source for h in at_home} >= {"home.md", "switches.md"}
    assert "barn.md" not in {h.source for h in at_home}
    assert [h.source for h in await kb.search("hay loft", site="home")] == []
    assert {d.source for d in await kb.list_documents(site="home")} >= {"home.md", "switches.md"}


RANKING = [
    ("what does the stuck value alert mean", "alerts.md", "Devices > Stuck value"),
    ("SolArk battery shutdown and restart SOC registers", "solark-sunsynk.md", "Battery settings"),
    ("time of use SOC target Use Timer", "solark-sunsynk.md", "Time-of-use programs"),
    ("Victron relay function manual", "victron-ess-generator.md", "Relays"),
    ("generator wet stacking at light load", "generator-maintenance.md", "Load and wet stacking"),
    ("charging LiFePO4 below freezing", "battery-safety.md", "Choosing the floor > LiFePO4"),
    ("Shelly digest auth password", "shelly-miners.md", "Setting up a Shelly relay"),
    ("what to do during a grid outage", "alerts.md", "Grid and inverter > Grid outage"),
    ("grid outage procedure with the generator", "victron-ess-generator.md", "Grid outage"),
    ("generator service interval in run hours", "generator-maintenance.md", "Service intervals"),
    (
        "what does the generator service due alert mean",
        "alerts.md",
        "Generator and fuel > Generator service due",
    ),
]


@pytest.mark.parametrize(("query", "source", "section"), RANKING)
async def test_bm25_finds_the_right_runbook_section(
    kb: KnowledgeBase, query: str, source: str, section: str
) -> None:
    hits = await kb.search(query, site="demo", top_k=3)
    assert hits, query
    assert hits[0].source == source, [h.citation for h in hits]
    assert hits[0].section.startswith(section), [h.citation for h in hits]
    assert hits[0].namespace == SHARED_NAMESPACE


async def test_builtin_runbooks_are_ingested_once(kb: KnowledgeBase) -> None:
    first = await kb.ingest_builtin()
    assert first.count("added") == 6 and not first.failed
    again = await kb.ingest_builtin()
    assert again.count("skipped") == 6
    titles = {d.source: d.title for d in await kb.list_documents()}
    assert titles["alerts.md"] == "What each alert means and what to do"


def test_relevant_keeps_the_hits_near_the_best() -> None:
    def hit(score: float) -> Hit:
        return Hit(namespace="n", source="s.md", title="t", section="x", text="", score=score)

    assert [h.score for h in relevant([hit(12.6), hit(4.8), hit(4.3), hit(2.7)])] == [12.6, 4.8]
    assert [h.score for h in relevant([hit(7.0), hit(6.8), hit(5.9), hit(2.0)])] == [7.0, 6.8, 5.9]
    assert [h.score for h in relevant([hit(9.0), hit(1.0)], keep=1)] == [9.0]
    assert relevant([]) == []
