"""search_documents and search_spellings: the PostgreSQL search engine's documents
(app/search/postgresql.py), with pg_trgm for "did you mean". PostgreSQL only: on SQLite
the Whoosh engine answers and this migration does nothing. `flask search reindex` (or
the end of `flask seed`) fills the tables.

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
    op.create_table('search_spellings',
    sa.Column('word', sa.Text(), nullable=False),
    sa.Column('documents', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_spellings'))
    )
    # GiST, not GIN: "did you mean" asks for the nearest words (ORDER BY word <-> :typed).
    op.create_index('ix_search_spellings_word_trgm', 'search_spellings', ['word'],
                    postgresql_using='gist', postgresql_ops={'word': 'gist_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_table('search_spellings')
    op.drop_table('search_documents')
