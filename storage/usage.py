"""Repository for model usage: one row per assistant turn (keyword-only, caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ModelTurnRow


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageTotals:
    turns: int
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


async def record_model_turn(
    session: AsyncSession,
    *,
    created_at: datetime,
    thread_id: str,
    site: str,
    requested_by: str,
    model: str,
    model_calls: int,
    prompt_tokens: int,
    completion_tokens: int,
    latency_ms: float,
    cost_usd: float | None,
    tokens_counted: str,
) -> int:
    row = ModelTurnRow(
        created_at=created_at,
        thread_id=thread_id[:300],
        site=site[:64],
        requested_by=requested_by[:200],
        model=model[:120],
        model_calls=model_calls,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
        cost_usd=cost_usd,
        tokens_counted=tokens_counted,
    )
    session.add(row)
    await session.flush()
    return row.id


async def list_model_turns(
    session: AsyncSession, *, thread_id: str | None = None, limit: int = 100
) -> list[ModelTurnRow]:
    stmt = select(ModelTurnRow).order_by(ModelTurnRow.id.desc()).limit(limit)
    if thread_id is not None:
        stmt = stmt.where(ModelTurnRow.thread_id == thread_id)
    return list((await session.scalars(stmt)).all())


async def usage_totals(
    session: AsyncSession, *, model: str | None = None, since: datetime | None = None
) -> dict[str, UsageTotals]:
    """Totals per model (all models, or one), optionally since a time."""
    stmt = select(
        ModelTurnRow.model,
        func.count(),
        func.coalesce(func.sum(ModelTurnRow.model_calls), 0),
        func.coalesce(func.sum(ModelTurnRow.prompt_tokens), 0),
        func.coalesce(func.sum(ModelTurnRow.completion_tokens), 0),
        func.coalesce(func.sum(ModelTurnRow.cost_usd), 0.0),
    ).group_by(ModelTurnRow.model)
    if model is not None:
        stmt = stmt.where(ModelTurnRow.model == model)
    if since is not None:
        stmt = stmt.where(ModelTurnRow.created_at >= since)
    return {
        str(name): UsageTotals(
            turns=int(turns),
            model_calls=int(calls),
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
            cost_usd=float(cost or 0.0),
        )
        for name, turns, calls, prompt, completion, cost in (await session.execute(stmt)).all()
    }
