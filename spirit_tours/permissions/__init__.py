"""Roles, the viewer and the permission classes every field and mutation declares."""
