"""Witnessing: the logs this server witnesses, the witnesses this log submits to, their cosignatures.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('witnessed_log',
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('vkey', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('origin')
    )
    op.create_table('witness',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('vkeys', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('added_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('cosignature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('witness', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('line', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checkpoint_id', 'witness', 'key_id')
    )
    with op.batch_alter_table('cosignature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cosignature_checkpoint_id'), ['checkpoint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cosignature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cosignature_checkpoint_id'))
    op.drop_table('cosignature')
    op.drop_table('witness')
    op.drop_table('witnessed_log')
