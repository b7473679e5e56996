"""parties: the language each party chose for the dashboard (none: the browser's)

Revision ID: 0006_party_locale
Revises: 0005_subscriptions
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_party_locale'
down_revision = '0005_subscriptions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('parties', sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place: a batch copy of the table would be
    # refused by the foreign keys that point at it.
    op.drop_column('parties', 'locale')
