"""Every mapped model, imported in one place so the metadata is complete (Alembic, tests)."""

from spirit_tours.persistence.accounts import Company, Hotel, RefreshToken, User
from spirit_tours.persistence.base import Base

__all__ = ["Base", "Company", "Hotel", "RefreshToken", "User"]
