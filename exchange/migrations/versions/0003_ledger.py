"""payments ledger: entries, leg sums, guarantees, unmatched bank transactions, provider secrets

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG = sa.Integer().with_variant(sa.BigInteger(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'ledger_entries',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('entry_id', sa.String(length=32), nullable=False),
        sa.Column('shipment_id', sa.String(length=36), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('reference', sa.String(length=140), nullable=True),
        sa.Column('rf_reference', sa.String(length=32), nullable=True),
        sa.Column('due_at', TS, nullable=True),
        sa.Column('recorded_at', TS, nullable=False),
        sa.Column('actor_id', sa.String(length=36), nullable=True),
        sa.Column('data_json', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'],
                                name=op.f('fk_ledger_entries_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
        sa.UniqueConstraint('entry_id', name=op.f('uq_ledger_entries_entry_id')),
        sa.UniqueConstraint('rf_reference', name=op.f('uq_ledger_entries_rf_reference')),
        sa.UniqueConstraint('kind', 'reference', name='uq_ledger_entries_kind_reference'),
    )
    op.create_index('ix_ledger_entries_shipment', 'ledger_entries', ['shipment_id', 'id'])
    op.create_index('ix_ledger_entries_leg_kind', 'ledger_entries',
                    ['shipment_id', 'country', 'kind'])
    op.create_table(
        'ledger_legs',
        sa.Column('shipment_id', sa.String(length=36), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('assessed_minor', sa.BigInteger(), nullable=False),
        sa.Column('adjusted_minor', sa.BigInteger(), nullable=False),
        sa.Column('paid_minor', sa.BigInteger(), nullable=False),
        sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
        sa.Column('assessments', sa.Integer(), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'],
                                name=op.f('fk_ledger_legs_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('shipment_id', 'country', name=op.f('pk_ledger_legs')),
    )
    op.create_table(
        'ledger_guarantees',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('shipment_id', sa.String(length=36), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('reference', sa.String(length=140), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('decision_id', sa.String(length=128), nullable=False),
        sa.Column('accepted_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'],
                                name=op.f('fk_ledger_guarantees_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_guarantees')),
        sa.UniqueConstraint('shipment_id', 'country', 'reference',
                            name='uq_ledger_guarantees_leg_reference'),
    )
    op.create_table(
        'payment_unmatched',
        sa.Column('id', BIG, autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('message_id', sa.String(length=140), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('data_json', sa.Text(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_unmatched')),
        sa.UniqueConstraint('key', name=op.f('uq_payment_unmatched_key')),
    )
    op.create_table(
        'payment_provider_secrets',
        sa.Column('party_id', sa.String(length=36), nullable=False),
        sa.Column('secret', sa.String(length=128), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['party_id'], ['parties.id'],
                                name=op.f('fk_payment_provider_secrets_party_id_parties')),
        sa.PrimaryKeyConstraint('party_id', name=op.f('pk_payment_provider_secrets')),
    )


def downgrade() -> None:
    op.drop_table('payment_provider_secrets')
    op.drop_table('payment_unmatched')
    op.drop_table('ledger_guarantees')
    op.drop_table('ledger_legs')
    op.drop_index('ix_ledger_entries_leg_kind', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_shipment', table_name='ledger_entries')
    op.drop_table('ledger_entries')
