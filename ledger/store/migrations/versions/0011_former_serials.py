"""Former serials: the serials items carried before a correction changed them, so a scan still finds them.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('former_serial',
    sa.Column('marker', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('corrected_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('marker', 'serial')
    )
    op.create_index(op.f('ix_former_serial_serial'), 'former_serial', ['serial'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_former_serial_serial'), table_name='former_serial')
    op.drop_table('former_serial')
