"""Leaner entries: drop the indexes no query uses (signature, actor, item_uid alone).

A valid signature binds the canonical bytes it signs, and `event_hash` is unique, so a unique
index on the 132-character signature only cost ~170 bytes per entry. `ix_entry_item_seq`
serves every lookup by item; `actor` was never queried.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _entry(with_signature_unique: bool) -> sa.Table:
    columns = [
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('prev_hash', sa.LargeBinary(), nullable=False),
        sa.Column('leaf_hash', sa.LargeBinary(), nullable=False),
        sa.Column('event', sa.LargeBinary(), nullable=False),
        sa.Column('event_hash', sa.LargeBinary(), nullable=False),
        sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('item_uid', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('signer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('recorded_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('event_hash'),
        sa.Index('ix_entry_event_type', 'event_type'),
        sa.Index('ix_entry_item_seq', 'item_uid', 'seq'),
    ]
    if with_signature_unique:
        columns.append(sa.UniqueConstraint('signature', name='entry_signature_key'))
    return sa.Table('entry', sa.MetaData(), *columns)


def upgrade() -> None:
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_actor')
        batch_op.drop_index('ix_entry_item_uid')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot drop a constraint: copy the table into one defined without it.
        with op.batch_alter_table('entry', copy_from=_entry(with_signature_unique=False), recreate='always'):
            pass
    else:
        op.drop_constraint('entry_signature_key', 'entry', type_='unique')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('entry', copy_from=_entry(with_signature_unique=True), recreate='always'):
            pass
    else:
        op.create_unique_constraint('entry_signature_key', 'entry', ['signature'])
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_index('ix_entry_item_uid', ['item_uid'], unique=False)
        batch_op.create_index('ix_entry_actor', ['actor'], unique=False)
