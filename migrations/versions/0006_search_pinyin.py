"""search_pinyin: the pinyin forms of each indexed listing's Chinese name, so the database
fallback of search finds full pinyin and initials (filled by `flask seed`, `flask search
reindex` and, from then on, by the flush hook in app/search/outbox.py)

Revision ID: 0006_search_pinyin
Revises: 0005_search_synonyms
Create Date: 2026-11-30 06:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_search_pinyin'
down_revision = '0005_search_synonyms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_pinyin',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('obj_id', sa.Integer(), nullable=False),
    sa.Column('forms', sa.String(length=2000), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'obj_id', name=op.f('pk_search_pinyin'))
    )


def downgrade():
    op.drop_table('search_pinyin')
