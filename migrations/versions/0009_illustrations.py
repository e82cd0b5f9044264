"""illustrations: which vendored drawing (app/media/illustrations.py) a product, or by
default its category, shows until a real photo is uploaded; the abstract generated
pictures of earlier seeds are removed (their rendition files become unused)

Revision ID: 0009_illustrations
Revises: 0008_sign_source_url
Create Date: 2026-12-07 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_illustrations'
down_revision = '0008_sign_source_url'
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
