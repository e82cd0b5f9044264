"""protection abroad: where else a GI sign is protected (jurisdiction, basis, date, source),
a child table of gi_signs (issue 13)

Revision ID: 0015_protection_abroad
Revises: 0014_expo_demo_and_list_order
Create Date: 2026-12-07 06:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_protection_abroad"
down_revision = "0014_expo_demo_and_list_order"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "protections_abroad",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("basis_zh", sa.String(length=300), nullable=False),
        sa.Column("basis_en", sa.String(length=300), nullable=True),
        sa.Column("protected_from", sa.Date(), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["sign_id"],
            ["gi_signs.id"],
            name=op.f("fk_protections_abroad_sign_id_gi_signs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protections_abroad")),
    )
    with op.batch_alter_table("protections_abroad", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protections_abroad_sign_id"), ["sign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protections_abroad_jurisdiction"), ["jurisdiction"], unique=False
        )


def downgrade():
    op.drop_table("protections_abroad")
