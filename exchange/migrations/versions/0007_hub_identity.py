"""hub_identities: which hub identity (its certificate's SHA-256) seals this database

An existing database gets its first row at its next start, from the certificate in use
(exchange.documents.signatures.hub_sealer); nothing is filled in here.

Revision ID: 0007_hub_identity
Revises: 0006_party_locale
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_hub_identity'
down_revision = '0006_party_locale'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGINT = sa.Integer().with_variant(sa.BigInteger(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'hub_identities',
        sa.Column('id', BIGINT, autoincrement=True, nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=500), nullable=False),
        sa.Column('how', sa.String(length=16), nullable=False),
        sa.Column('recorded_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_identities')),
    )


def downgrade() -> None:
    op.drop_table('hub_identities')
