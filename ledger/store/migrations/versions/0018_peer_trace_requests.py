"""Trace requests between logs: the `peer_trace` projection of `peer_trace_*` events, and what
travelled with them beside the log (the peer's entry, the signed answer, its delivery).

A log made before this revision has no such events, so nothing is replayed.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('peer_trace',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('side', _TEXT(), nullable=False),
    sa.Column('peer', _TEXT(), nullable=False),
    sa.Column('peer_origin', _TEXT(), nullable=False),
    sa.Column('item', _TEXT(), nullable=False),
    sa.Column('reason', _TEXT(), nullable=False),
    sa.Column('requester', _TEXT(), nullable=False),
    sa.Column('requested_at', _TEXT(), nullable=False),
    sa.Column('deadline', _TEXT(), nullable=False),
    sa.Column('peer_seq', sa.BigInteger(), nullable=True),
    sa.Column('state', _TEXT(), nullable=False),
    sa.Column('decided_seq', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', _TEXT(), nullable=True),
    sa.Column('decided_by', _TEXT(), nullable=True),
    sa.Column('refusal', _TEXT(), nullable=True),
    sa.Column('answer_digest', _TEXT(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    for column in ('side', 'item', 'state'):
        op.create_index(op.f(f'ix_peer_trace_{column}'), 'peer_trace', [column], unique=False)
    op.create_table('peer_trace_message',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('remote_seq', sa.BigInteger(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('headers', _TEXT(), nullable=True),
    sa.Column('delivered_at', _TEXT(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt', sa.Float(), nullable=True),
    sa.Column('last_error', _TEXT(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index(op.f('ix_peer_trace_message_next_attempt'), 'peer_trace_message', ['next_attempt'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_peer_trace_message_next_attempt'), table_name='peer_trace_message')
    op.drop_table('peer_trace_message')
    for column in ('state', 'item', 'side'):
        op.drop_index(op.f(f'ix_peer_trace_{column}'), table_name='peer_trace')
    op.drop_table('peer_trace')
