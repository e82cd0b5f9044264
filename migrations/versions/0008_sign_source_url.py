"""gi_signs.source_url: the announcement or official list a register row links to, so the
public register shows one source link per sign while the research trail (`source`,
`notes`, `approval_note`) stays with officials.

Revision ID: 0008_sign_source_url
Revises: 0007_search_documents
Create Date: 2026-12-07 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_sign_source_url'
down_revision = '0007_search_documents'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('gi_signs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_url', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('gi_signs', schema=None) as batch_op:
        batch_op.drop_column('source_url')
