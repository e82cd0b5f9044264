"""Search synonyms, editable in the back office and applied to queries.

Revision ID: 0005_search_synonyms
Revises: 0004_qr
Create Date: 2026-11-30 06:10:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005_search_synonyms'
down_revision = '0004_qr'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'synonym_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('terms', sa.String(length=1000), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_synonym_groups')),
    )


def downgrade():
    op.drop_table('synonym_groups')
