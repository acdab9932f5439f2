"""Booking rules: creation from an approved quotation, payments, cancellation, staffing."""
