"""outbox of deliveries and customs decisions

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'deliveries',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('shipment_id', sa.String(length=36), nullable=False),
        sa.Column('first_document_id', sa.String(length=36), nullable=False),
        sa.Column('document_id', sa.String(length=36), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('adapter', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', TS, nullable=False),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_until', TS, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('receipt_reference', sa.String(length=128), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('first_sent_at', TS, nullable=True),
        sa.Column('completed_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'],
                                name=op.f('fk_deliveries_shipment_id_shipments')),
        sa.ForeignKeyConstraint(['first_document_id'], ['documents.id'],
                                name=op.f('fk_deliveries_first_document_id_documents')),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                                name=op.f('fk_deliveries_document_id_documents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
        sa.UniqueConstraint('first_document_id', 'country',
                            name=op.f('uq_deliveries_first_document_id')),
    )
    op.create_index('ix_deliveries_due', 'deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_deliveries_country_status', 'deliveries', ['country', 'status'])
    op.create_index('ix_deliveries_shipment', 'deliveries', ['shipment_id'])
    op.create_table(
        'customs_decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('decision_id', sa.String(length=128), nullable=False),
        sa.Column('shipment_id', sa.String(length=36), nullable=False),
        sa.Column('delivery_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('customs_reference', sa.String(length=128), nullable=True),
        sa.Column('decision_json', sa.Text(), nullable=False),
        sa.Column('signed_xml', sa.LargeBinary(), nullable=True),
        sa.Column('signature_report', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('actor_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'],
                                name=op.f('fk_customs_decisions_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customs_decisions')),
        sa.UniqueConstraint('country', 'decision_id',
                            name=op.f('uq_customs_decisions_country')),
    )
    op.create_index('ix_customs_decisions_shipment', 'customs_decisions',
                    ['shipment_id', 'country'])


def downgrade() -> None:
    op.drop_table('customs_decisions')
    op.drop_table('deliveries')
