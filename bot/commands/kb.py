"""``commandcenter kb``: ingest documents into the knowledge base, search it, list it.

``kb ingest PATH [--site NAME]`` indexes a file or every file under a folder into the
site's namespace (or the shared one); ``kb ingest --builtin`` indexes the runbooks the
product ships (the bot also does this by itself on first use). Unchanged files are
skipped by content hash; a changed file replaces its earlier chunks; a file that cannot
be read is reported and leaves its earlier version in place.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.settings import Settings
from knowledge.errors import KnowledgeError
from knowledge.service import (
    SHARED_NAMESPACE,
    FileOutcome,
    IngestReport,
    KnowledgeBase,
    excerpt,
    files_to_ingest,
)
from storage.errors import StorageError
from tools.errors import ToolsError, UnknownSiteError

kb_app = typer.Typer(
    no_args_is_help=True,
    help="The knowledge base: ingest runbooks and manuals (Markdown, text, PDF), search them.",
)

T = TypeVar("T")

SiteFileOpt = Annotated[
    str | None,
    typer.Option(
        "--site-file", help="YAML/TOML site file (default: $COMMANDCENTER_SITE_FILE or demo)"
    ),
]


def _settings(site_file: str | None) -> Settings:
    settings = Settings()
    if site_file:
        settings = settings.model_copy(update={"site_file": Path(site_file)})
    from bot.logs import configure

    configure(
        "WARNING" if settings.log_level == "INFO" else settings.log_level, fmt=settings.log_format
    )
    return settings


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; the project's errors become a clear message and exit code 2."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except (KnowledgeError, ToolsError, StorageError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except SQLAlchemyError as err:
        from bot.boundary import database_message

        typer.echo(f"error: {database_message(err, None)}", err=True)
        raise typer.Exit(2) from None


def _site(settings: Settings, name: str | None, *, default: bool) -> str | None:
    """The configured site's name (its namespace); the first site when ``default``."""
    from bot.app import load_sites

    sites = [s.name for s in load_sites(settings).sites]
    if name is None:
        return sites[0] if default else None
    key = name.strip().lower()
    if key not in sites:
        raise UnknownSiteError(name, sites)
    return key


@asynccontextmanager
async def open_knowledge(settings: Settings) -> AsyncIterator[KnowledgeBase]:
    """The configured knowledge base on a migrated database (no bot, no devices)."""
    from bot.app import build_knowledge
    from storage.engine import create_engine, create_sessionmaker, upgrade_database

    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade_database(engine)
        knowledge = await build_knowledge(settings, create_sessionmaker(engine), fallback=False)
        try:
            yield knowledge
        finally:
            await knowledge.aclose()
    finally:
        await engine.dispose()


_LABELS = {"added": "added", "replaced": "replaced", "skipped": "unchanged", "failed": "FAILED"}


def _outcome_line(outcome: FileOutcome) -> str:
    line = f"{_LABELS[outcome.status]:<9} {outcome.source}"
    if outcome.status in ("added", "replaced"):
        line += f" ({outcome.chunks} chunk{'s' if outcome.chunks != 1 else ''})"
    if outcome.error:
        line += f": {outcome.error}"
    return line


@kb_app.command("ingest")
def ingest(
    path: Annotated[
        Path | None, typer.Argument(help="A file or a folder (Markdown, .txt, PDF)")
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Into this site's namespace (default: shared)")
    ] = None,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Index the runbooks the product ships (shared)")
    ] = False,
    site_file: SiteFileOpt = None,
) -> None:
    """Index documents; unchanged files are skipped, changed ones replace their chunks."""
    if (path is None) == (not builtin):
        typer.echo("error: give a PATH to ingest, or --builtin (not both)", err=True)
        raise typer.Exit(2)
    settings = _settings(site_file)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(highlight=False)

    async def go() -> IngestReport:
        namespace = _site(settings, site, default=False) or SHARED_NAMESPACE
        async with open_knowledge(settings) as knowledge:
            files = None if path is None else files_to_ingest(path)
            total = len(files) if files is not None else None
            with Progress(
                TextColumn("[bold]indexing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("", total=total)

                def on_file(outcome: FileOutcome) -> None:
                    progress.console.print(_outcome_line(outcome), markup=False, soft_wrap=True)
                    progress.update(task, advance=1, description=outcome.source)

                if path is None:
                    return await knowledge.ingest_builtin(on_file=on_file)
                return await knowledge.ingest_path(
                    path, namespace=namespace, on_file=on_file, files=files
                )

    report = _run(go)
    where = "shared" if report.namespace == SHARED_NAMESPACE else f"site {report.namespace}"
    typer.echo(f"{where}: {report.summary()}")
    if report.failed:
        raise typer.Exit(2)


@kb_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    site: Annotated[
        str | None,
        typer.Option("--site", help="This site's documents and the shared ones (default: first)"),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=20, help="How many passages")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    site_file: SiteFileOpt = None,
) -> None:
    """Search the knowledge base; each passage comes with its citation."""
    settings = _settings(site_file)

    async def go() -> list[dict[str, Any]]:
        name = _site(settings, site, default=True)
        async with open_knowledge(settings) as knowledge:
            hits = await knowledge.search(query, site=name, top_k=top)
        return [
            {
                "citation": h.citation,
                "source": h.source,
                "section": h.section,
                "title": h.title,
                "namespace": h.namespace,
                "page": h.page,
                "score": round(h.score, 4),
                "text": h.text,
            }
            for h in hits
        ]

    rows = _run(go)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo(f"Nothing found for {query!r}.")
        return
    for n, row in enumerate(rows, start=1):
        typer.echo(f"{n}. {row['citation']}  score {row['score']:.2f}")
        typer.echo(f"   {excerpt(row['text'], max_words=60)}")


@kb_app.command("remove")
def remove(
    source: Annotated[str, typer.Argument(help="The document's name as `kb list` shows it")],
    site: Annotated[
        str | None, typer.Option("--site", help="From this site's namespace (default: shared)")
    ] = None,
    site_file: SiteFileOpt = None,
) -> None:
    """Take a document and its chunks out of the knowledge base."""
    settings = _settings(site_file)

    async def go() -> tuple[str, int | None]:
        namespace = _site(settings, site, default=False) or SHARED_NAMESPACE
        async with open_knowledge(settings) as knowledge:
            return namespace, await knowledge.remove(source, namespace=namespace)

    namespace, removed = _run(go)
    where = "shared" if namespace == SHARED_NAMESPACE else f"site {namespace}"
    if removed is None:
        typer.echo(
            f"error: {source} is not in the {where} knowledge base (see `kb list`)", err=True
        )
        raise typer.Exit(2)
    typer.echo(f"{where}: removed {source} ({removed} chunk{'s' if removed != 1 else ''})")


@kb_app.command("list")
def list_documents(
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site's and the shared documents")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    site_file: SiteFileOpt = None,
) -> None:
    """List the indexed documents by namespace."""
    settings = _settings(site_file)

    async def go() -> list[dict[str, Any]]:
        name = _site(settings, site, default=False)
        async with open_knowledge(settings) as knowledge:
            docs = await knowledge.list_documents(site=name)
        return [
            {
                "namespace": d.namespace,
                "source": d.source,
                "title": d.title,
                "kind": d.kind,
                "chunks": d.chunk_count,
                "sha256": d.content_hash,
                "updated_at": d.updated_at.isoformat(),
            }
            for d in docs
        ]

    rows = _run(go)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("The knowledge base is empty.")
    for row in rows:
        space = "shared" if row["namespace"] == SHARED_NAMESPACE else row["namespace"]
        typer.echo(f"{space:<12} {row['source']:<40} {row['chunks']:>4} chunks  {row['title']}")
