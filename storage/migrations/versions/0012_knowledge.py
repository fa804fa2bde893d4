"""knowledge base: documents, chunks and the BM25 postings of the local index

Revision ID: 0012_knowledge
Revises: 0011_ops
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_knowledge"
down_revision: str | None = "0011_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite so that the key is the autoincrementing ROWID.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kb_documents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_documents")),
        sa.UniqueConstraint("backend", "namespace", "source", name=op.f("uq_kb_documents_backend")),
    )
    op.create_table(
        "kb_chunks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("document_id", BIG_ID, nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["kb_documents.id"],
            name=op.f("fk_kb_chunks_document_id_kb_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_chunks")),
        sa.UniqueConstraint("document_id", "ordinal", name=op.f("uq_kb_chunks_document_id")),
    )
    with op.batch_alter_table("kb_chunks", schema=None) as batch_op:
        batch_op.create_index("ix_kb_chunks_namespace", ["namespace"], unique=False)
    op.create_table(
        "kb_postings",
        sa.Column("chunk_id", BIG_ID, nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["kb_chunks.id"],
            name=op.f("fk_kb_postings_chunk_id_kb_chunks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chunk_id", "term", name=op.f("pk_kb_postings")),
    )
    with op.batch_alter_table("kb_postings", schema=None) as batch_op:
        batch_op.create_index("ix_kb_postings_namespace_term", ["namespace", "term"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_postings_namespace_term")
    op.drop_table("kb_postings")
    with op.batch_alter_table("kb_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_chunks_namespace")
    op.drop_table("kb_chunks")
    op.drop_table("kb_documents")
