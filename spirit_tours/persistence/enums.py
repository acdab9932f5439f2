"""Enumerations stored in the database and exposed through GraphQL."""

from __future__ import annotations

from enum import StrEnum


class CompanyKind(StrEnum):
    OPERATOR = "OPERATOR"
    AGENCY = "AGENCY"
    HOTEL = "HOTEL"


class Role(StrEnum):
    ADMIN = "ADMIN"
    AGENCY = "AGENCY"
    HOTEL = "HOTEL"
    CLIENT = "CLIENT"
    GUIDE = "GUIDE"

    @property
    def company_kind(self) -> CompanyKind | None:
        """The kind of company a user of this role belongs to (CLIENT belongs to none)."""
        return _ROLE_COMPANY_KIND[self]


_ROLE_COMPANY_KIND: dict[Role, CompanyKind | None] = {
    Role.ADMIN: CompanyKind.OPERATOR,
    Role.GUIDE: CompanyKind.OPERATOR,
    Role.AGENCY: CompanyKind.AGENCY,
    Role.HOTEL: CompanyKind.HOTEL,
    Role.CLIENT: None,
}


class Locale(StrEnum):
    ES = "es"
    EN = "en"
    PT = "pt"
