"""console accounts, sessions and login attempts

Revision ID: 0007_console
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = "0007_console"
down_revision = "0001_core"
branch_labels = ("console",)
depends_on = None


def upgrade() -> None:
    op.create_table('console_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', bot.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_console_accounts_username'))
    )
    op.create_table('console_sessions',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['console_accounts.id'], name=op.f('fk_console_sessions_account_id_console_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_console_sessions'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('console_login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_login_attempts'))
    )
    with op.batch_alter_table('console_login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_console_login_attempts_username_at', ['username', 'at'], unique=False)
        batch_op.create_index('ix_console_login_attempts_ip_at', ['ip', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_console_login_attempts_ip_at')
        batch_op.drop_index('ix_console_login_attempts_username_at')
    op.drop_table('console_login_attempts')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_account_id'))
    op.drop_table('console_sessions')
    op.drop_table('console_accounts')
