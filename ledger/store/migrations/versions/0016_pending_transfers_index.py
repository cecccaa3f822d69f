"""Pending transfers index: the items with a transfer waiting for receipt, in log order, so listing
the transfers never received reads those items only, not every active item.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_PENDING = sa.text("pending_to IS NOT NULL")


def upgrade() -> None:
    op.create_index('ix_item_pending', 'item', ['pending_seq'], sqlite_where=_PENDING, postgresql_where=_PENDING)


def downgrade() -> None:
    op.drop_index('ix_item_pending', table_name='item')
