"""expo demo and list order: an expo event can be marked as demo data (the seed ships one,
like its demo enterprises), and a visitor's saved list keeps the order it was saved in

Revision ID: 0014_expo_demo_and_list_order
Revises: 0009_illustrations
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_expo_demo_and_list_order'
down_revision = '0011_report_home_county_and_cues'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('expo_events', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('is_demo', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Lists saved before this revision keep their rows at position 0: shown in product id
    # order, which is as good as the name order they had.
    with op.batch_alter_table('saved_list_products', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('position', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade():
    with op.batch_alter_table('saved_list_products', schema=None) as batch_op:
        batch_op.drop_column('position')
    with op.batch_alter_table('expo_events', schema=None) as batch_op:
        batch_op.drop_column('is_demo')
