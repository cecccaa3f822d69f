"""Cross-border scans: the last verified status answer of a peer log per item, kept to answer a scan
while the peer is down. Not derived from the log, so nothing is replayed.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('peer_status',
    sa.Column('peer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('verified_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('peer', 'uid')
    )


def downgrade() -> None:
    op.drop_table('peer_status')
