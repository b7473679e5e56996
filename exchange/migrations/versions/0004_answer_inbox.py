"""answers that came with a delivery's receipt, kept until their decisions are recorded

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'received_decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('delivery_id', sa.String(length=36), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('decision_json', sa.Text(), nullable=False),
        sa.Column('signed_xml', sa.LargeBinary(), nullable=True),
        sa.Column('received_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_received_decisions')),
    )


def downgrade() -> None:
    op.drop_table('received_decisions')
