"""Hit notices owed to peers: each one kept until the peer has it (or refused it), so a notice
survives a restart while the peer is down. Not derived from the log, so nothing is replayed.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hit_outbox',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('peer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('queued_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt', sa.Float(), nullable=True),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('settled_at', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('peer_seq', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index(op.f('ix_hit_outbox_next_attempt'), 'hit_outbox', ['next_attempt'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_hit_outbox_next_attempt'), table_name='hit_outbox')
    op.drop_table('hit_outbox')
