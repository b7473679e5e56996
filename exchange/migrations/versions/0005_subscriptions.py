"""event notifications: subscriptions, their notifications, the fan-out's cursors

Revision ID: 0005_subscriptions
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_subscriptions'
down_revision = '0004'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGINT = sa.Integer().with_variant(sa.BigInteger(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'subscriptions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('party_id', sa.String(length=36), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('kinds_json', sa.Text(), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('paused_reason', sa.Text(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('paused_at', TS, nullable=True),
        sa.Column('last_delivered_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['party_id'], ['parties.id'],
                                name=op.f('fk_subscriptions_party_id_parties')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    )
    op.create_index('ix_subscriptions_party', 'subscriptions', ['party_id'])
    op.create_table(
        'notifications',
        sa.Column('id', BIGINT, autoincrement=True, nullable=False),
        sa.Column('subscription_id', sa.String(length=36), nullable=False),
        sa.Column('stream', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('event_id', BIGINT, nullable=False),
        sa.Column('types_json', sa.String(length=400), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', TS, nullable=False),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_until', TS, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('delivered_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'],
                                name=op.f('fk_notifications_subscription_id_subscriptions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('subscription_id', 'stream', 'seq',
                            name=op.f('uq_notifications_subscription_id')),
    )
    op.create_index('ix_notifications_due', 'notifications', ['status', 'next_attempt_at'])
    op.create_table(
        'notification_cursors',
        sa.Column('stream', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('stream', name=op.f('pk_notification_cursors')),
    )
    # Streams that exist now are fanned out from their current head: a subscription made
    # later is told of what happens from then on, not of the whole history.
    op.execute("INSERT INTO notification_cursors (stream, seq) "
               "SELECT stream, seq FROM event_heads")


def downgrade() -> None:
    op.drop_table('notification_cursors')
    op.drop_index('ix_notifications_due', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('ix_subscriptions_party', table_name='subscriptions')
    op.drop_table('subscriptions')
