"""`entry.imported`: the entries the log's authority imported from an earlier registry.

An imported entry may carry a time before the reporting window; its leaf hash covers the mark
(`ledger.entry`). Every entry already in the log was reported live: the column defaults to false.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entry') as batch:
        batch.add_column(sa.Column('imported', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('entry') as batch:
        batch.drop_column('imported')
