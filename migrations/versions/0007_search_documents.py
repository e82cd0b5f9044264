"""search_documents and search_terms: the PostgreSQL search engine's documents and the
document count of each of their terms (app/search/postgresql.py), with pg_trgm for "did
you mean". PostgreSQL only: on SQLite the Whoosh engine answers and this migration does
nothing. `flask search reindex` (or the end of `flask seed`) fills the tables.

Revision ID: 0007_search_documents
Revises: 0006_search_pinyin
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0007_search_documents'
down_revision = '0006_search_pinyin'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    # A trusted extension since PostgreSQL 13: the database owner may create it.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_table('search_documents',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('obj_id', sa.Integer(), nullable=False),
    sa.Column('vector', postgresql.TSVECTOR(), nullable=False),
    sa.Column('counties', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('regimes', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('label', postgresql.JSONB(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('spell', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'obj_id', name=op.f('pk_search_documents'))
    )
    op.create_index('ix_search_documents_vector', 'search_documents', ['vector'],
                    postgresql_using='gin')
    op.create_table('search_terms',
    sa.Column('lexeme', sa.Text(), nullable=False),
    sa.Column('documents', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('lexeme', name=op.f('pk_search_terms'))
    )
    # GiST, not GIN: "did you mean" asks for the spelling words nearest to what was typed
    # (ORDER BY substr(lexeme, 7) <-> :typed), only among the "spell:" rows.
    op.execute(
        "CREATE INDEX ix_search_terms_spell_trgm ON search_terms "
        "USING gist (substr(lexeme, 7) gist_trgm_ops) WHERE lexeme LIKE 'spell:%'"
    )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_table('search_terms')
    op.drop_table('search_documents')
