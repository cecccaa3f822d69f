"""Questions: what inspections that contradict the record (and transfers never received) raise, and how
investigators settle them.

An inspection no longer diverts an item by itself: only a confirmed question does. The custody fold
stored in `diversion.chain` changes meaning with it, so the upgrade replays the projection from the
entries (as `tracemark rebuild` does, passing over an entry whose event cannot be read: the audit
names it); no entry changes. Older code cannot read the new folds: the
downgrade empties `diversion`, and `tracemark rebuild` of that older code fills it again.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlmodel import Session

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('question',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('raised_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('origin_country', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decided_seq', sa.BigInteger(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index(op.f('ix_question_uid'), 'question', ['uid'], unique=False)
    op.create_index(op.f('ix_question_state'), 'question', ['state'], unique=False)
    bind = op.get_bind()
    total = bind.execute(sa.text("SELECT count(*) FROM entry")).scalar_one()
    if total:
        from ledger.store.rebuild import replay  # the projection as the code of this revision computes it

        with Session(bind=bind) as session:
            replay(session, total, skip_unreadable=True)
            session.flush()


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM diversion"))
    op.drop_index(op.f('ix_question_state'), table_name='question')
    op.drop_index(op.f('ix_question_uid'), table_name='question')
    op.drop_table('question')
