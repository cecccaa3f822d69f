"""An index of each item's custody entries: `ix_entry_item_custody`, on (item_uid, seq) of every
entry but the inspections.

A scan reads the item's newest custody entries. Through `ix_entry_item_seq` it stepped over every
inspection recorded since, reading each one's row to learn its type: a container scanned at every
border post cost more at each scan. The partial index holds custody entries only, so the read
stops after the entries it wants, however often the item was scanned. Inspections, the commonest
event, are not written to it.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_NOT_INSPECTION = sa.text("event_type != 'inspect'")


def upgrade() -> None:
    op.create_index('ix_entry_item_custody', 'entry', ['item_uid', 'seq'], sqlite_where=_NOT_INSPECTION,
                    postgresql_where=_NOT_INSPECTION)


def downgrade() -> None:
    op.drop_index('ix_entry_item_custody', table_name='entry')
