"""Federation: the peer logs this log talks to (a projection of `add_peer` / `remove_peer`), and the
nonces of the signed requests peers sent, kept until they expire so that a replay is refused.

A log made before this revision has no peer events, so nothing is replayed.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('peer',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('vkey', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('share', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('added_seq', sa.BigInteger(), nullable=False),
    sa.Column('removed_seq', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_index(op.f('ix_peer_origin'), 'peer', ['origin'], unique=False)
    op.create_index(op.f('ix_peer_key_id'), 'peer', ['key_id'], unique=False)
    op.create_table('seen_nonce',
    sa.Column('keyid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('expires', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('keyid', 'nonce')
    )
    op.create_index(op.f('ix_seen_nonce_expires'), 'seen_nonce', ['expires'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_seen_nonce_expires'), table_name='seen_nonce')
    op.drop_table('seen_nonce')
    op.drop_index(op.f('ix_peer_key_id'), table_name='peer')
    op.drop_index(op.f('ix_peer_origin'), table_name='peer')
    op.drop_table('peer')
