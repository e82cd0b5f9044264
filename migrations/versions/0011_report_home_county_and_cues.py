"""report home county and genuine-product cues (issue 11): a counterfeit report reaches the
county where the fake was bought and the GI's home county (the product's first county,
backfilled for existing reports); products gain the "How to recognise the genuine product"
cues (packaging, the official GI mark, where the authorization number is; zh and en) and a
flag marking demonstration cues

Revision ID: 0011_report_home_county_and_cues
Revises: 0009_illustrations
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_report_home_county_and_cues'
down_revision = '0010_search_scoring_vector'
branch_labels = None
depends_on = None

CUE_COLUMNS = (
    'cue_packaging_zh', 'cue_packaging_en',
    'cue_mark_zh', 'cue_mark_en',
    'cue_number_zh', 'cue_number_en',
)

# The product's first county in the order pages list them (County.sort_order, then id), the
# rule services/reports.home_county_of applies to new reports. Rows keep their county_id.
BACKFILL_HOME_COUNTY = """
    UPDATE counterfeit_reports SET home_county_id = (
        SELECT pc.county_id FROM product_counties pc
        JOIN counties c ON c.id = pc.county_id
        WHERE pc.product_id = counterfeit_reports.product_id
        ORDER BY c.sort_order, c.id LIMIT 1
    )
    WHERE product_id IS NOT NULL AND home_county_id IS NULL
"""


def upgrade():
    with op.batch_alter_table('counterfeit_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_county_id', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_counterfeit_reports_home_county_id'), ['home_county_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_counterfeit_reports_home_county_id_counties'),
            'counties', ['home_county_id'], ['id'],
        )
    op.execute(sa.text(BACKFILL_HOME_COUNTY))
    with op.batch_alter_table('products', schema=None) as batch_op:
        for name in CUE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('cues_demo', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('cues_demo')
        for name in reversed(CUE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('counterfeit_reports', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_counterfeit_reports_home_county_id_counties'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_counterfeit_reports_home_county_id'))
        batch_op.drop_column('home_county_id')
