"""Plain HTTP endpoints beside /graphql, at the top with the schema: provider webhooks and the
offline checkout page (payments.py), e-mail open/click/unsubscribe links (mail.py). Each one
reads the request, calls the domain services below and answers; nothing below imports them."""
