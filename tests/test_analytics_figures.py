"""How the reports round their figures: a median that rounds to zero prints as 0.0."""

from __future__ import annotations

import math
from decimal import Decimal

from spirit_tours.resolvers.analytics.figures import ratio, two_places


def test_a_tiny_negative_median_rounds_to_a_positive_zero() -> None:
    rounded = two_places(-0.00028)
    assert rounded == 0.0
    assert math.copysign(1, rounded) == 1  # not -0.0, which GraphQL and the CSV print as "-0.0"
    assert str(rounded) == "0.0"
    assert two_places(-1.005) == -1.01  # half away from zero, sign kept when it is not zero
    assert two_places(None) is None
    assert str(two_places(Decimal("-0.004"))) == "0.0"  # the rollups' exact medians too
    assert two_places(Decimal("2.675")) == 2.68  # exact: the float 2.675 is 2.67499…


def test_ratios_round_half_up_and_have_no_zero_denominator() -> None:
    assert ratio(1, 3) == 0.3333
    assert ratio(2, 3) == 0.6667
    assert ratio(0, 0) is None
