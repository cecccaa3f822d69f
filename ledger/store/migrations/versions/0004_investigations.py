"""investigation projections

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diversion",
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("item_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("diverted_seq", sa.BigInteger(), nullable=True),
        sa.Column("diversion_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("diversion_time", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_legit_custodian", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("origin_country", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("found_country", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("time_to_crime_days", sa.Integer(), nullable=True),
        sa.Column("seized_seq", sa.BigInteger(), nullable=True),
        sa.Column("permit_number", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("uid"),
    )
    with op.batch_alter_table("diversion", schema=None) as batch_op:
        for column in ("item_kind", "diverted_seq", "diversion_kind", "diversion_time", "last_legit_custodian", "found_country", "permit_number"):
            batch_op.create_index(batch_op.f(f"ix_diversion_{column}"), [column], unique=False)

    op.create_table(
        "trace_request",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("requester", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("authority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("case", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("make", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("requested_at", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answer_seq", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("answer_seconds", sa.Integer(), nullable=True),
        sa.Column("item_uid", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("trace_request", schema=None) as batch_op:
        for column in ("requester", "authority", "serial"):
            batch_op.create_index(batch_op.f(f"ix_trace_request_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("trace_request")
    op.drop_table("diversion")
