"""Tests for seatcast.seats: seat rules, their properties and the power-exponent fit."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatcast.errors import ConfigError
from seatcast.seats import (
    POWER_EXPONENT_BOUNDS,
    SEAT_RULES,
    allocate_seats,
    fit_power_exponent,
    power_seat_shares,
)

# Andhra Pradesh 2019 Assembly election: 175 seats. Vote shares in percent.
AP_VOTES = {"YSRCP": 49.95, "TDP": 39.17, "JSP": 5.53}
AP_SEATS = {"YSRCP": 151, "TDP": 23, "JSP": 1}
AP_TOTAL = 175

DIVISOR_RULES = ("dhondt", "sainte-lague")


def test_hamilton_ap2019():
    # Hare quotas 175 * v / 94.65: YSRCP 92.353, TDP 72.422, JSP 10.225. Floors add up to 174,
    # and the one seat left goes to the largest remainder, TDP's 0.422.
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="hamilton") == {
        "YSRCP": 92,
        "TDP": 73,
        "JSP": 10,
    }


def test_dhondt_ap2019():
    # With divisor D = 49.95 / 93 = 0.53710: YSRCP 93.00 -> 93, TDP 72.93 -> 72, JSP 10.30 -> 10,
    # adding up to 175. TDP's 73rd seat needs D <= 39.17 / 73 = 0.53658, so YSRCP wins the last.
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="dhondt") == {
        "YSRCP": 93,
        "TDP": 72,
        "JSP": 10,
    }


def test_sainte_lague_ap2019():
    # Sainte-Lague rounds v / D to the nearest whole number. The Hare divisor 94.65 / 175
    # gives 92.35, 72.42 and 10.22, which round to 174 seats, so D must shrink until one party
    # reaches its next .5: TDP at 39.17 / 72.5 = 0.54028, before YSRCP at 49.95 / 92.5 = 0.54000
    # and JSP at 5.53 / 10.5 = 0.52667. At D = 0.54028: 92.45 -> 92, 72.5 -> 73, 10.24 -> 10.
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="sainte-lague") == {
        "YSRCP": 92,
        "TDP": 73,
        "JSP": 10,
    }


def test_cube_law_ap2019():
    # v ** 3 shares of 175: YSRCP 117.96, TDP 56.88, JSP 0.16, so remainders give YSRCP and TDP
    # one seat each after floors of 117 and 56.
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="power", k=3.0) == {
        "YSRCP": 118,
        "TDP": 57,
        "JSP": 0,
    }


def test_power_default_is_cube_law():
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="power") == allocate_seats(
        AP_VOTES, AP_TOTAL, rule="power", k=3.0
    )


def test_power_k_one_is_hamilton():
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="power", k=1.0) == allocate_seats(
        AP_VOTES, AP_TOTAL, rule="hamilton"
    )


def test_power_high_k_ap2019():
    # k = 7.7 shares: YSRCP 151.67, TDP 23.33, JSP 0.00001. The leftover seat goes to YSRCP.
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="power", k=7.7) == {
        "YSRCP": 152,
        "TDP": 23,
        "JSP": 0,
    }


def test_power_never_gives_jsp_its_seat():
    # With 5.53 % of the vote against 49.95 %, JSP's power share is below half a seat for every
    # k that keeps TDP near 23 seats, so a pure power law cannot return 151/23/1.
    for k in (5.0, 6.0, 7.0, 7.5, 8.0, 9.0):
        assert allocate_seats(AP_VOTES, AP_TOTAL, rule="power", k=k)["JSP"] == 0


def test_divisor_rules_differ_on_small_parties():
    # 8 seats, votes A 100, B 80, C 30, D 20 (thousands).
    # D'Hondt averages, best 8: A 100, B 80, A 50, B 40, A 33.3, C 30, B 26.7, A 25 -> 4/3/1/0.
    # Sainte-Lague averages (divisors 1, 3, 5): A 100, B 80, A 33.3, C 30, B 26.7, A 20, D 20,
    # B 16 -> 3/3/1/1.
    votes = {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}
    assert allocate_seats(votes, 8, rule="dhondt") == {"A": 4, "B": 3, "C": 1, "D": 0}
    assert allocate_seats(votes, 8, rule="sainte-lague") == {"A": 3, "B": 3, "C": 1, "D": 1}


def test_result_keeps_input_order():
    seats = allocate_seats({"Z": 1.0, "A": 2.0, "M": 3.0}, 6, rule="dhondt")
    assert list(seats) == ["Z", "A", "M"]


@pytest.mark.parametrize("rule", SEAT_RULES)
def test_exact_tie_goes_to_smaller_name(rule):
    # Equal weights and one seat: the tie falls to the first name in code-point order,
    # whatever order the mapping lists the parties in.
    assert allocate_seats({"B": 1.0, "A": 1.0}, 1, rule=rule) == {"B": 0, "A": 1}


def test_dhondt_tie_goes_to_larger_weight():
    # Second seat: A's average 2 / 2 = 1 equals B's 1 / 1 = 1. The larger weight, A, wins.
    assert allocate_seats({"B": 1, "A": 2}, 2, rule="dhondt") == {"B": 0, "A": 2}


def test_hamilton_remainder_tie_goes_to_larger_weight():
    # Quotas for 2 seats: A 1.5, B 0.5, remainders tie at 0.5; A has the larger weight.
    assert allocate_seats({"B": 1, "A": 3}, 2, rule="hamilton") == {"B": 0, "A": 2}


def test_single_party_takes_all_seats():
    for rule in SEAT_RULES:
        assert allocate_seats({"A": 0.2}, 7, rule=rule) == {"A": 7}


def test_numpy_weights_and_total_accepted():
    weights = {"A": np.float64(0.6), "B": np.int64(4)}
    assert allocate_seats(weights, np.int64(10), rule="hamilton") == {"A": 1, "B": 9}


# Integer weights keep every ratio exact in floating point, so scaling them by an integer must
# give exactly the same seats.
_weights = st.dictionaries(
    keys=st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=3),
    values=st.integers(min_value=0, max_value=10_000),
    min_size=1,
    max_size=8,
).filter(lambda weights: any(value > 0 for value in weights.values()))
_totals = st.integers(min_value=1, max_value=300)
_rules = st.sampled_from(SEAT_RULES)
_exponents = st.floats(min_value=0.5, max_value=8.0)


@settings(max_examples=150, deadline=None)
@given(weights=_weights, total=_totals, rule=_rules, k=_exponents)
def test_seats_sum_to_total(weights, total, rule, k):
    seats = allocate_seats(weights, total, rule=rule, k=k)
    assert sum(seats.values()) == total
    assert set(seats) == set(weights)
    assert all(value >= 0 for value in seats.values())


@settings(max_examples=150, deadline=None)
@given(weights=_weights, total=_totals, rule=_rules, data=st.data())
def test_more_weight_never_fewer_seats(weights, total, rule, data):
    party = data.draw(st.sampled_from(sorted(weights)))
    extra = data.draw(st.integers(min_value=1, max_value=5_000))
    heavier = {**weights, party: weights[party] + extra}
    before = allocate_seats(weights, total, rule=rule)[party]
    after = allocate_seats(heavier, total, rule=rule)[party]
    assert after >= before


@settings(max_examples=150, deadline=None)
@given(weights=_weights, total=_totals, rule=st.sampled_from(("hamilton", *DIVISOR_RULES)))
def test_zero_weight_wins_no_seat(weights, total, rule):
    with_zero = {**weights, "ZERO": 0}
    assert allocate_seats(with_zero, total, rule=rule)["ZERO"] == 0


@settings(max_examples=150, deadline=None)
@given(
    weights=_weights,
    total=_totals,
    rule=_rules,
    scale=st.integers(min_value=2, max_value=1_000),
)
def test_scaling_weights_keeps_seats(weights, total, rule, scale):
    scaled = {party: value * scale for party, value in weights.items()}
    assert allocate_seats(scaled, total, rule=rule) == allocate_seats(weights, total, rule=rule)


def test_power_seat_shares_sum_to_one():
    shares = power_seat_shares(AP_VOTES, 3.0)
    assert math.isclose(sum(shares.values()), 1.0)
    # 49.95^3 / (49.95^3 + 39.17^3 + 5.53^3) = 124625.1 / 184892.1 = 0.67404
    assert shares["YSRCP"] == pytest.approx(0.67404, abs=1e-5)


def test_power_seat_shares_large_k_no_overflow():
    shares = power_seat_shares({"A": 1e200, "B": 5e199}, 20.0)
    assert all(math.isfinite(value) for value in shares.values())
    assert shares["A"] == pytest.approx(1 / (1 + 0.5**20))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "cube"}, r"`rule` must be one of hamilton, dhondt, sainte-lague, power; got 'cu"),
        ({"total": 0}, r"`total` must be a whole number of seats, at least 1; got 0"),
        ({"total": -3}, r"`total` must be a whole number of seats, at least 1; got -3"),
        ({"total": 17.5}, r"`total` must be a whole number of seats, at least 1; got 17\.5"),
        ({"total": True}, r"`total` must be a whole number of seats, at least 1; got True"),
        ({"rule": "power", "k": 0}, r"`k` must be a finite number greater than 0; got 0"),
        ({"rule": "power", "k": -1.0}, r"`k` must be a finite number greater than 0; got -1\.0"),
        ({"rule": "power", "k": math.inf}, r"`k` must be a finite number greater than 0; got inf"),
    ],
)
def test_allocate_rejects_bad_options(kwargs, message):
    arguments = {"weights": AP_VOTES, "total": AP_TOTAL, **kwargs}
    with pytest.raises(ConfigError, match=message):
        allocate_seats(**arguments)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, r"`weights` must name at least one party; got an empty mapping"),
        ({"A": -0.1, "B": 1.0}, r"`weights\['A'\]` must be a non-negative finite number; got -0\."),
        ({"A": math.nan}, r"`weights\['A'\]` must be a non-negative finite number; got nan"),
        ({"A": math.inf}, r"`weights\['A'\]` must be a non-negative finite number; got inf"),
        ({"A": "0.5"}, r"`weights\['A'\]` must be a non-negative finite number; got '0\.5'"),
        ({"A": None}, r"`weights\['A'\]` must be a non-negative finite number; got None"),
        ({"A": 0, "B": 0.0}, r"`weights` must give at least one party a positive value"),
        ({"": 1.0}, r"`weights` party names must be non-empty strings; got ''"),
        ({3: 1.0}, r"`weights` party names must be non-empty strings; got 3"),
    ],
)
def test_allocate_rejects_bad_weights(weights, message):
    with pytest.raises(ConfigError, match=message):
        allocate_seats(weights, 10)


def test_allocate_rejects_non_mapping():
    with pytest.raises(ConfigError, match=r"`weights` must be a mapping .*; got list"):
        allocate_seats([0.5, 0.5], 10)


def test_fit_ap2019():
    k = fit_power_exponent(AP_VOTES, AP_SEATS)
    # Continuous seat shares at this k: YSRCP 0.8657 (151.5 seats), TDP 0.1343, JSP 0.0000.
    assert k == pytest.approx(7.666, abs=0.005)
    assert allocate_seats(AP_VOTES, AP_TOTAL, rule="power", k=k)["YSRCP"] == 151


def test_fit_ignores_zero_seat_small_parties():
    with_small = {**AP_VOTES, "INC": 1.17, "BJP": 0.84}
    seats = {**AP_SEATS, "INC": 0, "BJP": 0}
    assert fit_power_exponent(with_small, seats) == pytest.approx(
        fit_power_exponent(AP_VOTES, AP_SEATS), abs=1e-3
    )


@pytest.mark.parametrize("true_k", [1.0, 2.5, 3.0, 5.5])
def test_fit_recovers_known_exponent(true_k):
    votes = {"A": 0.46, "B": 0.31, "C": 0.15, "D": 0.08}
    n_seats = 1_000_000
    shares = power_seat_shares(votes, true_k)
    seats = {party: round(share * n_seats) for party, share in shares.items()}
    fitted = fit_power_exponent(votes, seats, total=sum(seats.values()))
    assert fitted == pytest.approx(true_k, abs=1e-3)


def test_fit_total_larger_than_listed_seats():
    # Only YSRCP and TDP listed, out of all 175 seats: targets are 151/175 and 23/175.
    k = fit_power_exponent(
        {"YSRCP": 49.95, "TDP": 39.17}, {"YSRCP": 151, "TDP": 23}, total=AP_TOTAL
    )
    assert POWER_EXPONENT_BOUNDS[0] < k < POWER_EXPONENT_BOUNDS[1]
    assert k == pytest.approx(7.6, abs=0.3)


def test_fit_landslide_hits_bound_and_logs(caplog):
    caplog.set_level(logging.WARNING, logger="seatcast.seats")
    k = fit_power_exponent({"A": 0.55, "B": 0.45}, {"A": 100, "B": 0})
    assert k == pytest.approx(POWER_EXPONENT_BOUNDS[1], abs=1e-3)
    assert "at the search bound" in caplog.text


@pytest.mark.parametrize(
    ("votes", "seats", "total", "message"),
    [
        (
            AP_VOTES,
            {"YSRCP": 151, "TDP": 24},
            None,
            r"`seats` must name the same parties .*"
            r"missing \['JSP'\]",
        ),
        (AP_VOTES, {**AP_SEATS, "BJP": 0}, None, r"extra \['BJP'\]"),
        (
            AP_VOTES,
            {**AP_SEATS, "JSP": -1},
            None,
            r"`seats\['JSP'\]` must be a whole number of at least 0; got -1",
        ),
        (
            AP_VOTES,
            {**AP_SEATS, "JSP": 1.5},
            None,
            r"`seats\['JSP'\]` must be a whole number of at least 0; got 1\.5",
        ),
        (AP_VOTES, dict.fromkeys(AP_VOTES, 0), None, r"`seats` must include at least one seat"),
        (
            AP_VOTES,
            AP_SEATS,
            100,
            r"`total` must be at least the 175 seats listed in `seats`; "
            r"got 100",
        ),
        (
            {**AP_VOTES, "JSP": -5.53},
            AP_SEATS,
            None,
            r"`vote_shares\['JSP'\]` must be a non-negative finite number",
        ),
        (AP_VOTES, [151, 23, 1], None, r"`seats` must be a mapping of party name"),
    ],
)
def test_fit_rejects_bad_input(votes, seats, total, message):
    with pytest.raises(ConfigError, match=message):
        fit_power_exponent(votes, seats, total=total)
