"""The `meta` key-value table goes: nothing ever read or wrote it.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('meta')


def downgrade() -> None:
    op.create_table('meta',
                    sa.Column('key', sa.String(), nullable=False),
                    sa.Column('value', sa.String(), nullable=False),
                    sa.PrimaryKeyConstraint('key'))
