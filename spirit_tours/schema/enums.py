"""The persistence enums, registered in place as GraphQL enums (imported before any type)."""

import strawberry

from spirit_tours.core.enums import (
    BookingStatus,
    CompanyKind,
    CompetitorPrices,
    EmailStatus,
    ExtraService,
    InvitationStatus,
    Locale,
    NextActionKind,
    OfferStatus,
    PaymentMethod,
    PaymentStatus,
    Provider,
    QuotationStatus,
    RefundStatus,
    Role,
    RoomType,
    VehicleKind,
)

strawberry.enum(Role, description="What a user does on the platform.")
strawberry.enum(CompanyKind, description="Operator, travel agency or hotel company.")
strawberry.enum(Locale, description="Language of e-mail and texts: es, en or pt.")
strawberry.enum(QuotationStatus, description="DRAFT → OPEN → CLOSED → PROPOSED → APPROVED → BOOKED")
strawberry.enum(CompetitorPrices, description="What invited hotels see of competing offers.")
strawberry.enum(InvitationStatus)
strawberry.enum(OfferStatus)
strawberry.enum(RoomType)
strawberry.enum(ExtraService)
strawberry.enum(BookingStatus, description="PENDING_PAYMENT → CONFIRMED → COMPLETED, or CANCELLED")
strawberry.enum(RefundStatus, description="A refund made due by a cancellation, then executed.")
strawberry.enum(VehicleKind)
strawberry.enum(Provider, name="PaymentProvider", description="Who moves the money.")
strawberry.enum(PaymentMethod, description="How the payer pays.")
strawberry.enum(PaymentStatus, description="Only ever moves forward.")
strawberry.enum(NextActionKind, description="What the client does next to pay.")
strawberry.enum(EmailStatus, description="Where a message stands.")
