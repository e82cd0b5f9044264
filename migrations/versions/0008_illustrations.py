"""illustrations: which vendored drawing (app/media/illustrations.py) a product, or by
default its category, shows until a real photo is uploaded; the abstract generated
pictures of earlier seeds are removed (their rendition files become unused)

Revision ID: 0008_illustrations
Revises: 0007_search_documents
Create Date: 2026-12-07 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_illustrations'
down_revision = '0007_search_documents'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('illustration', sa.String(length=32), nullable=True))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('illustration', sa.String(length=32), nullable=True))
    op.execute(sa.text("DELETE FROM product_images WHERE generated = :yes").bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('illustration')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('illustration')
