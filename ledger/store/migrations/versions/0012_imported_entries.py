"""`entry.imported`: the entries the log's authority imported from an earlier registry.

An imported entry may carry a time before the reporting window; its leaf hash covers the mark
(`ledger.log.entry`). Every entry already in the log was reported live: the column defaults to false.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: copying the table on SQLite would create its indexes anew
    # in another order, and the planner, choosing between two equal (item_uid, seq) indexes by that
    # order, would read a scanned item's story through every inspection (not ix_entry_item_custody).
    op.add_column('entry', sa.Column('imported', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('entry', 'imported')
