"""overlapping guide and vehicle assignments: EXCLUDE constraints (btree_gist) instead of triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

The embedded PostgreSQL is now 18 with btree_gist, like production servers, so the rule is the
declarative constraint; the trigger of 0003 is dropped. btree_gist is a trusted extension
(PostgreSQL 13+): a database owner without superuser rights may create it.
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (assignment table, the assignment's column naming the guide or vehicle)
ASSIGNMENTS = (('guide_assignments', 'guide_id'), ('transport_assignments', 'vehicle_id'))


def upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
    for table, column in ASSIGNMENTS:
        op.execute(f'DROP TRIGGER IF EXISTS {table}_no_overlap ON {table}')
        op.execute(
            f'ALTER TABLE {table} ADD CONSTRAINT {table}_no_overlap EXCLUDE USING gist '
            f"({column} WITH =, daterange(start_date, end_date, '[]') WITH &&) "
            f'WHERE (released_at IS NULL)'
        )
    op.execute('DROP FUNCTION IF EXISTS refuse_overlapping_assignment()')


def downgrade() -> None:
    bookings = importlib.import_module(
        'spirit_tours.persistence.migrations.versions.0003_bookings_guides_vehicles'
    )
    for table, _ in ASSIGNMENTS:
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_no_overlap')
    op.execute(bookings.REFUSE_OVERLAPPING_ASSIGNMENT)
    for table, resource, key, column in bookings.ASSIGNMENTS:
        op.execute(
            f"CREATE TRIGGER {table}_no_overlap BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION "
            f"refuse_overlapping_assignment('{resource}', '{key}', '{column}')"
        )
