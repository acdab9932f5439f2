"""bookings, guides, vehicles

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# (assignment table, resource table, its key, the assignment's column naming the resource)
ASSIGNMENTS = (
    ('guide_assignments', 'guides', 'user_id', 'guide_id'),
    ('transport_assignments', 'vehicles', 'id', 'vehicle_id'),
)

# No guide (or vehicle) in two active assignments whose inclusive dates overlap, whatever the
# code path. The row lock on the resource makes concurrent assignments of it queue; each then
# sees the ones committed before it. Raised as exclusion_violation (SQLSTATE 23P01).
REFUSE_OVERLAPPING_ASSIGNMENT = """
CREATE FUNCTION refuse_overlapping_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    resource uuid;
    clash uuid;
BEGIN
    IF NEW.released_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    EXECUTE format('SELECT ($1).%I', TG_ARGV[2]) INTO resource USING NEW;
    EXECUTE format('SELECT 1 FROM %I WHERE %I = $1 FOR UPDATE', TG_ARGV[0], TG_ARGV[1])
        USING resource;
    EXECUTE format(
        'SELECT booking_id FROM %I WHERE %I = $1 AND released_at IS NULL AND id <> $2 '
        'AND start_date <= $3 AND end_date >= $4 LIMIT 1', TG_TABLE_NAME, TG_ARGV[2])
        INTO clash USING resource, NEW.id, NEW.end_date, NEW.start_date;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION '% % is already assigned to booking % on overlapping dates',
            TG_ARGV[2], resource, clash
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = TG_TABLE_NAME || '_no_overlap';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute('CREATE SEQUENCE booking_reference_seq START 1001')
    op.create_table('vehicles',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('plate', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('CAR', 'VAN', 'MINIBUS', 'BUS', name='vehicle_kind'), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_vehicles_capacity_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicles')),
    sa.UniqueConstraint('plate', name=op.f('uq_vehicles_plate'))
    )
    op.create_table('guides',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('languages', postgresql.ARRAY(sa.String(length=8)), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_guides_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_guides'))
    )
    op.create_table('bookings',
    sa.Column('reference', sa.String(length=20), server_default=sa.text("'ST-' || nextval('booking_reference_seq')::text"), nullable=False),
    sa.Column('quotation_id', sa.Uuid(), nullable=False),
    sa.Column('owner_company_id', sa.Uuid(), nullable=True),
    sa.Column('owner_user_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('destination', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('travellers', sa.Integer(), nullable=False),
    sa.Column('rooms', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('selling_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount_paid', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.Enum('PENDING_PAYMENT', 'CONFIRMED', 'COMPLETED', 'CANCELLED', name='booking_status'), nullable=False),
    sa.Column('deposit_percent', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('deposit_due_date', sa.Date(), nullable=True),
    sa.Column('balance_due_date', sa.Date(), nullable=False),
    sa.Column('cancellation_tiers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancellation_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(deposit_percent IS NULL) = (deposit_due_date IS NULL)', name=op.f('ck_bookings_deposit_has_due_date')),
    sa.CheckConstraint('amount_paid >= 0 AND amount_paid <= selling_price', name=op.f('ck_bookings_paid_within_price')),
    sa.CheckConstraint('deposit_percent IS NULL OR (deposit_percent > 0 AND deposit_percent < 100)', name=op.f('ck_bookings_deposit_percent_range')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_bookings_dates_in_order')),
    sa.CheckConstraint('selling_price > 0', name=op.f('ck_bookings_selling_positive')),
    sa.CheckConstraint('travellers > 0', name=op.f('ck_bookings_travellers_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_bookings_created_by_id_users')),
    sa.ForeignKeyConstraint(['owner_company_id'], ['companies.id'], name=op.f('fk_bookings_owner_company_id_companies')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_bookings_owner_user_id_users')),
    sa.ForeignKeyConstraint(['quotation_id'], ['quotations.id'], name=op.f('fk_bookings_quotation_id_quotations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('quotation_id', name=op.f('uq_bookings_quotation_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_bookings_reference'))
    )
    op.create_index('ix_bookings_created_at_id', 'bookings', ['created_at', 'id'], unique=False)
    op.create_index('ix_bookings_owner_company_id', 'bookings', ['owner_company_id'], unique=False)
    op.create_index('ix_bookings_owner_user_id', 'bookings', ['owner_user_id'], unique=False)
    op.create_table('guide_time_off',
    sa.Column('guide_id', sa.Uuid(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_guide_time_off_dates_in_order')),
    sa.ForeignKeyConstraint(['guide_id'], ['guides.user_id'], name=op.f('fk_guide_time_off_guide_id_guides'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guide_time_off'))
    )
    # Guides created before this revision get a profile in their own language.
    op.execute("INSERT INTO guides (user_id, languages, created_at) "
               "SELECT id, ARRAY[locale::text], now() FROM users WHERE role = 'GUIDE'")
    op.create_index('ix_guide_time_off_guide_id', 'guide_time_off', ['guide_id'], unique=False)
    op.create_table('booking_hotels',
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('hotel_id', sa.Uuid(), nullable=False),
    sa.Column('hotel_company_id', sa.Uuid(), nullable=False),
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('net_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rooms', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('net_price > 0', name=op.f('ck_booking_hotels_net_price_positive')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_hotels_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hotel_company_id'], ['companies.id'], name=op.f('fk_booking_hotels_hotel_company_id_companies')),
    sa.ForeignKeyConstraint(['hotel_id'], ['hotels.id'], name=op.f('fk_booking_hotels_hotel_id_hotels')),
    sa.ForeignKeyConstraint(['offer_id'], ['hotel_offers.id'], name=op.f('fk_booking_hotels_offer_id_hotel_offers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_hotels'))
    )
    op.create_index('ix_booking_hotels_booking_id', 'booking_hotels', ['booking_id'], unique=False)
    op.create_index('ix_booking_hotels_hotel_company_id', 'booking_hotels', ['hotel_company_id'], unique=False)
    op.create_table('booking_refunds',
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('refund_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('days_before_start', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('DUE', 'PROCESSING', 'REFUNDED', 'FAILED', name='refund_status'), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount > 0 AND amount <= paid_amount', name=op.f('ck_booking_refunds_amount_within_paid')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_refunds_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_booking_refunds_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_refunds'))
    )
    op.create_index('ix_booking_refunds_booking_id', 'booking_refunds', ['booking_id'], unique=False)
    op.create_table('guide_assignments',
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('guide_id', sa.Uuid(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('assigned_by_id', sa.Uuid(), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.Enum('UNASSIGNED', 'REPLACED', 'BOOKING_CANCELLED', name='release_reason'), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_guide_assignments_dates_in_order')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_guide_assignments_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_guide_assignments_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['guide_id'], ['guides.user_id'], name=op.f('fk_guide_assignments_guide_id_guides')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guide_assignments'))
    )
    op.create_index('ix_guide_assignments_guide_id', 'guide_assignments', ['guide_id'], unique=False)
    op.create_index('uq_guide_assignments_active_booking', 'guide_assignments', ['booking_id'], unique=True, postgresql_where=sa.text('released_at IS NULL'))
    op.create_table('payment_reminders',
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('due', sa.Enum('DEPOSIT', 'BALANCE', name='payment_due'), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_payment_reminders_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('booking_id', 'due', 'due_date', name=op.f('pk_payment_reminders'))
    )
    op.create_table('transport_assignments',
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('vehicle_id', sa.Uuid(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('assigned_by_id', sa.Uuid(), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('release_reason', postgresql.ENUM(name='release_reason', create_type=False), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_transport_assignments_dates_in_order')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_transport_assignments_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_transport_assignments_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_transport_assignments_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transport_assignments'))
    )
    op.create_index('ix_transport_assignments_vehicle_id', 'transport_assignments', ['vehicle_id'], unique=False)
    op.create_index('uq_transport_assignments_active_booking', 'transport_assignments', ['booking_id'], unique=True, postgresql_where=sa.text('released_at IS NULL'))
    op.execute(REFUSE_OVERLAPPING_ASSIGNMENT)
    for table, resource, key, column in ASSIGNMENTS:
        op.execute(
            f"CREATE TRIGGER {table}_no_overlap BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION "
            f"refuse_overlapping_assignment('{resource}', '{key}', '{column}')"
        )
    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index('uq_transport_assignments_active_booking', table_name='transport_assignments', postgresql_where=sa.text('released_at IS NULL'))
    op.drop_index('ix_transport_assignments_vehicle_id', table_name='transport_assignments')
    op.drop_table('transport_assignments')
    op.drop_table('payment_reminders')
    op.drop_index('uq_guide_assignments_active_booking', table_name='guide_assignments', postgresql_where=sa.text('released_at IS NULL'))
    op.drop_index('ix_guide_assignments_guide_id', table_name='guide_assignments')
    op.drop_table('guide_assignments')
    op.drop_index('ix_booking_refunds_booking_id', table_name='booking_refunds')
    op.drop_table('booking_refunds')
    op.drop_index('ix_booking_hotels_hotel_company_id', table_name='booking_hotels')
    op.drop_index('ix_booking_hotels_booking_id', table_name='booking_hotels')
    op.drop_table('booking_hotels')
    op.drop_index('ix_guide_time_off_guide_id', table_name='guide_time_off')
    op.drop_table('guide_time_off')
    op.drop_index('ix_bookings_owner_user_id', table_name='bookings')
    op.drop_index('ix_bookings_owner_company_id', table_name='bookings')
    op.drop_index('ix_bookings_created_at_id', table_name='bookings')
    op.drop_table('bookings')
    op.drop_table('guides')
    op.drop_table('vehicles')
    op.execute('DROP FUNCTION IF EXISTS refuse_overlapping_assignment()')
    op.execute('DROP SEQUENCE IF EXISTS booking_reference_seq')
    for enum in ('release_reason', 'payment_due', 'refund_status', 'booking_status', 'vehicle_kind'):
        op.execute(f'DROP TYPE IF EXISTS {enum}')
    # ### end Alembic commands ###
