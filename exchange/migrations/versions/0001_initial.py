"""initial store: parties, keys, shipments, legs, documents, events, idempotency

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 03:15:47.156480
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_heads',
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('stream', name=op.f('pk_event_heads'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer().with_variant(sa.BigInteger(), 'postgresql'), autoincrement=True, nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('occurred_at', sa.String(length=32), nullable=False),
    sa.Column('data_json', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('stream', 'seq', name=op.f('uq_events_stream'))
    )
    op.create_table('parties',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties'))
    )
    op.create_table('api_keys',
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_api_keys_party_id_parties')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_api_keys'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_party_id'), ['party_id'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_idempotency_keys_party_id_parties')),
    sa.PrimaryKeyConstraint('party_id', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('shipments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('forwarder_id', sa.String(length=36), nullable=False),
    sa.Column('transport_mode', sa.String(length=20), nullable=False),
    sa.Column('references_json', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=2), nullable=False),
    sa.Column('destination', sa.String(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['forwarder_id'], ['parties.id'], name=op.f('fk_shipments_forwarder_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_forwarder_created', ['forwarder_id', 'created_at', 'id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('shipment_id', sa.String(length=36), nullable=False),
    sa.Column('submitted_by', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.String(length=36), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('root', sa.String(length=100), nullable=False),
    sa.Column('namespace', sa.String(length=255), nullable=False),
    sa.Column('pack', sa.String(length=50), nullable=True),
    sa.Column('pack_version', sa.String(length=20), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('original', sa.LargeBinary(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=True),
    sa.Column('sealed_sha256', sa.String(length=64), nullable=True),
    sa.Column('validation_report', sa.Text(), nullable=False),
    sa.Column('signature_report', sa.Text(), nullable=False),
    sa.Column('facts_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_documents_shipment_id_shipments')),
    sa.ForeignKeyConstraint(['submitted_by'], ['parties.id'], name=op.f('fk_documents_submitted_by_parties')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['documents.id'], name=op.f('fk_documents_supersedes_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('shipment_id', 'sha256', name=op.f('uq_documents_shipment_id')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_documents_supersedes_id'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_shipment_created', ['shipment_id', 'created_at'], unique=False)

    op.create_table('route_legs',
    sa.Column('id', sa.Integer().with_variant(sa.BigInteger(), 'postgresql'), autoincrement=True, nullable=False),
    sa.Column('shipment_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_route_legs_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_legs')),
    sa.UniqueConstraint('shipment_id', 'seq', name=op.f('uq_route_legs_shipment_id'))
    )
    with op.batch_alter_table('route_legs', schema=None) as batch_op:
        batch_op.create_index('ix_route_legs_country_shipment', ['country', 'shipment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('route_legs', schema=None) as batch_op:
        batch_op.drop_index('ix_route_legs_country_shipment')

    op.drop_table('route_legs')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_shipment_created')

    op.drop_table('documents')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_forwarder_created')

    op.drop_table('shipments')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_party_id'))

    op.drop_table('api_keys')
    op.drop_table('parties')
    op.drop_table('events')
    op.drop_table('event_heads')
