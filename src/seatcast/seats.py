"""Seat rules: turn non-negative party weights into whole seats.

Every rule takes a mapping of party to weight and a number of seats, and returns whole seats
that add up to that number. Weights may be vote shares, PSS values or any other non-negative
numbers, because only their ratios matter. The rules are:

* ``hamilton`` - largest remainder with the Hare quota. Party *i* first gets
  ``floor(q_i)`` seats, where ``q_i = total * w_i / sum_j w_j``, and the seats left over go one
  each to the parties with the largest remainders ``q_i - floor(q_i)``.
* ``dhondt`` - highest averages with divisors 1, 2, 3, ... Each seat in turn goes to the party
  with the largest ``w_i / (s_i + 1)``, where ``s_i`` is the number of seats it has so far.
* ``sainte-lague`` - highest averages with divisors 1, 3, 5, ...: the largest
  ``w_i / (2 * s_i + 1)`` wins each seat.
* ``power`` - seat shares proportional to ``w_i ** k``, made whole by the ``hamilton`` rule.
  ``k = 3`` is the cube law (M. G. Kendall and A. Stuart, "The Law of Cubic Proportions in
  Electoral Results", British Journal of Sociology, 1950) and ``k = 1`` is plain ``hamilton``.
  A larger ``k`` gives the leading party more seats, as first-past-the-post elections tend to.

Arithmetic is exact: weights are converted to :class:`fractions.Fraction`, so ties are real ties
and the result does not depend on the order of floating-point operations. Ties are broken
deterministically, first by the larger weight and then by party name in ascending code-point order.
Real elections break such ties by lot or by law.

NOTE: Seatcast uses these rules, and its Positive Sentiment Score, as a reconstruction. The
study that seatcast follows does not publish its seat equation.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from numbers import Real

import numpy as np
from scipy.optimize import minimize_scalar

from seatcast.errors import ConfigError

__all__ = [
    "DEFAULT_POWER_EXPONENT",
    "POWER_EXPONENT_BOUNDS",
    "SEAT_RULES",
    "allocate_seats",
    "fit_power_exponent",
    "power_seat_shares",
]

logger = logging.getLogger(__name__)

SEAT_RULES = ("hamilton", "dhondt", "sainte-lague", "power")

# The cube law; the default exponent of the `power` rule.
DEFAULT_POWER_EXPONENT = 3.0

# Range searched by `fit_power_exponent`. The results files in data/results fit at about 1.3
# (India 2019), 2.0 (UK 2015) and 7.7 (Andhra Pradesh 2019), well inside this range.
POWER_EXPONENT_BOUNDS = (0.1, 20.0)

# Step of the coarse grid that `fit_power_exponent` scans before refining, so that a fit with
# more than one local minimum still finds the best one on the grid.
_FIT_GRID_STEP = 0.05


def _plain(value: object) -> object:
    # numpy 2 scalars repr as np.float64(...); messages show the plain Python value instead.
    return value.item() if isinstance(value, np.generic) else value


def _validate_total(total: object) -> int:
    if isinstance(total, bool) or not isinstance(total, int | np.integer):
        raise ConfigError(
            f"`total` must be a whole number of seats, at least 1; got {_plain(total)!r}"
        )
    if total < 1:
        raise ConfigError(f"`total` must be a whole number of seats, at least 1; got {total}")
    return int(total)


def _validate_weights(weights: Mapping[str, float], name: str = "weights") -> dict[str, float]:
    if not isinstance(weights, Mapping):
        raise ConfigError(
            f"`{name}` must be a mapping of party name to number; got {type(weights).__name__}"
        )
    if not weights:
        raise ConfigError(f"`{name}` must name at least one party; got an empty mapping")
    checked: dict[str, float] = {}
    for party, weight in weights.items():
        if not isinstance(party, str) or not party.strip():
            raise ConfigError(f"`{name}` party names must be non-empty strings; got {party!r}")
        if isinstance(weight, bool) or not isinstance(weight, Real):
            raise ConfigError(
                f"`{name}[{party!r}]` must be a non-negative finite number; got {_plain(weight)!r}"
            )
        value = float(weight)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(
                f"`{name}[{party!r}]` must be a non-negative finite number; got {_plain(weight)!r}"
            )
        checked[party] = value
    if not any(value > 0 for value in checked.values()):
        raise ConfigError(
            f"`{name}` must give at least one party a positive value; got all zeros for "
            f"{sorted(checked)}"
        )
    return checked


def _validate_exponent(k: object) -> float:
    if isinstance(k, bool) or not isinstance(k, Real) or not math.isfinite(float(k)) or k <= 0:
        raise ConfigError(f"`k` must be a finite number greater than 0; got {_plain(k)!r}")
    return float(k)


def _tie_key(party: str, weight: Fraction) -> tuple[Fraction, str]:
    # Sorted ascending, this puts the larger weight first, then the smaller name.
    return (-weight, party)


def _largest_remainder(weights: Mapping[str, Fraction], total: int) -> dict[str, int]:
    weight_sum = sum(weights.values(), Fraction(0))
    quotas = {party: total * weight / weight_sum for party, weight in weights.items()}
    seats = {party: math.floor(quota) for party, quota in quotas.items()}
    n_left = total - sum(seats.values())
    by_remainder = sorted(
        weights,
        key=lambda party: (-(quotas[party] - seats[party]), *_tie_key(party, weights[party])),
    )
    for party in by_remainder[:n_left]:
        seats[party] += 1
    return seats


def _highest_averages(
    weights: Mapping[str, Fraction], total: int, divisor: Callable[[int], int]
) -> dict[str, int]:
    seats = dict.fromkeys(weights, 0)
    # heapq pops the smallest item, so priorities are negated. Each entry carries the
    # tie-breaking key so that equal averages resolve the same way every run.
    heap = [(-weight / divisor(0), *_tie_key(party, weight)) for party, weight in weights.items()]
    heapq.heapify(heap)
    for _ in range(total):
        _, negative_weight, party = heapq.heappop(heap)
        seats[party] += 1
        weight = -negative_weight
        heapq.heappush(heap, (-weight / divisor(seats[party]), -weight, party))
    return seats


def power_seat_shares(weights: Mapping[str, float], k: float) -> dict[str, float]:
    """Compute the seat shares of the power law, ``w_i ** k / sum_j w_j ** k``.

    Parameters
    ----------
    weights : Mapping[str, float]
        Non-negative weights per party, at least one positive. Only their ratios matter.
    k : float
        Exponent, greater than 0. ``k = 3`` is the cube law.

    Returns
    -------
    dict[str, float]
        Seat share per party, in the order of `weights`, adding up to 1.

    Raises
    ------
    ConfigError
        If a weight is negative, NaN or infinite, all weights are zero, or `k` is not positive.
    """
    checked = _validate_weights(weights)
    exponent = _validate_exponent(k)
    return _power_shares(checked, exponent)


def _power_shares(weights: Mapping[str, float], k: float) -> dict[str, float]:
    values = np.array(list(weights.values()), dtype=float)
    # Dividing by the largest weight first keeps every power in [0, 1], so no overflow for any k.
    # Tiny ratios underflow to 0, which numpy does silently.
    powered = np.power(values / values.max(), k)
    shares = powered / powered.sum()
    return dict(zip(weights, shares.tolist(), strict=True))


def allocate_seats(
    weights: Mapping[str, float],
    total: int,
    rule: str = "hamilton",
    k: float = DEFAULT_POWER_EXPONENT,
) -> dict[str, int]:
    """Allocate `total` seats to parties in proportion to their weights under a seat rule.

    Parameters
    ----------
    weights : Mapping[str, float]
        Non-negative finite weight per party, at least one positive. Only ratios matter, so
        vote shares in percent, fractions or raw counts give the same seats.
    total : int
        Number of seats to fill, at least 1.
    rule : {"hamilton", "dhondt", "sainte-lague", "power"}, default="hamilton"
        Seat rule; see the module docstring for each formula.
    k : float, default=3.0
        Exponent of the ``power`` rule (3 is the cube law). Ignored by the other rules.

    Returns
    -------
    dict[str, int]
        Seats per party, in the order of `weights`. The values add up to `total`.

    Raises
    ------
    ConfigError
        If `rule` is unknown, `total` is not a whole number of at least 1, a weight is negative,
        NaN or infinite, every weight is zero, or `k` is not a finite number above 0.

    Notes
    -----
    Ties are broken by the larger weight, then by party name in ascending code-point order.
    A party with zero weight never wins a seat under ``dhondt``, ``sainte-lague`` or ``hamilton``.
    Under ``hamilton`` every leftover seat goes to a party whose remainder is positive.
    Divisor rules take O(total * log(n_parties)) steps, so millions of seats are slow.

    Examples
    --------
    >>> allocate_seats({"YSRCP": 49.95, "TDP": 39.17, "JSP": 5.53}, 175, rule="dhondt")
    {'YSRCP': 93, 'TDP': 72, 'JSP': 10}
    """
    if rule not in SEAT_RULES:
        raise ConfigError(f"`rule` must be one of {', '.join(SEAT_RULES)}; got {rule!r}")
    n_seats = _validate_total(total)
    checked = _validate_weights(weights)

    if rule == "power":
        exponent = _validate_exponent(k)
        checked = _power_shares(checked, exponent)

    # Fraction(float) is exact, so ties and remainders are compared without rounding.
    exact = {party: Fraction(weight) for party, weight in checked.items()}
    if rule in ("hamilton", "power"):
        seats = _largest_remainder(exact, n_seats)
    elif rule == "dhondt":
        seats = _highest_averages(exact, n_seats, lambda n_won: n_won + 1)
    else:
        seats = _highest_averages(exact, n_seats, lambda n_won: 2 * n_won + 1)

    logger.debug("allocated %d seats to %d parties with rule %s", n_seats, len(seats), rule)
    return seats


def _validate_seats(seats: Mapping[str, int], parties: list[str]) -> dict[str, int]:
    if not isinstance(seats, Mapping):
        raise ConfigError(
            f"`seats` must be a mapping of party name to seats won; got {type(seats).__name__}"
        )
    missing = [party for party in parties if party not in seats]
    extra = [party for party in seats if party not in parties]
    if missing or extra:
        raise ConfigError(
            "`seats` must name the same parties as `vote_shares`; got "
            f"missing {missing} and extra {extra}"
        )
    checked: dict[str, int] = {}
    for party in parties:
        value = seats[party]
        is_number = isinstance(value, Real) and not isinstance(value, bool)
        if not is_number or not float(value).is_integer() or value < 0:
            raise ConfigError(
                f"`seats[{party!r}]` must be a whole number of at least 0; got {_plain(value)!r}"
            )
        checked[party] = int(value)
    return checked


def fit_power_exponent(
    vote_shares: Mapping[str, float],
    seats: Mapping[str, int],
    total: int | None = None,
) -> float:
    """Fit the exponent ``k`` of the power rule to a past election's votes and seats.

    The fit minimises the sum over parties of ``(p_i(k) - seats_i / total) ** 2``, where
    ``p_i(k) = v_i ** k / sum_j v_j ** k`` is the power law's seat share. It scans
    ``k`` over :data:`POWER_EXPONENT_BOUNDS` in steps of 0.05, then refines around the best
    grid point with :func:`scipy.optimize.minimize_scalar` (bounded method).

    Parameters
    ----------
    vote_shares : Mapping[str, float]
        Vote share per party, in any unit (percent or fraction), at least one positive.
    seats : Mapping[str, int]
        Seats won per party; must name exactly the parties of `vote_shares`.
    total : int or None, default=None
        Seats in the whole election, used to turn seats into seat shares. The default is the sum
        of `seats`, which is right when `seats` lists every party that won a seat.

    Returns
    -------
    float
        The fitted ``k``, within :data:`POWER_EXPONENT_BOUNDS`.

    Raises
    ------
    ConfigError
        If the mappings name different parties, a vote share or seat count is invalid, no
        party won a seat, or `total` is less than the seats listed.

    Notes
    -----
    The fit uses continuous seat shares, so the whole seats from ``allocate_seats(...,
    rule="power", k=fitted)`` can still differ from the real ones by a seat or two. When the
    best fit lies at a bound (for example one party won every seat), that bound is returned
    and a warning is logged.

    Examples
    --------
    Andhra Pradesh 2019 Assembly: YSRCP 151, TDP 23 and JSP 1 of 175 seats on vote shares
    of 49.95, 39.17 and 5.53 percent.

    >>> round(fit_power_exponent({"YSRCP": 49.95, "TDP": 39.17, "JSP": 5.53},
    ...                          {"YSRCP": 151, "TDP": 23, "JSP": 1}), 2)
    7.67
    """
    votes = _validate_weights(vote_shares, name="vote_shares")
    parties = list(votes)
    won = _validate_seats(seats, parties)
    n_won = sum(won.values())
    if n_won == 0:
        raise ConfigError("`seats` must include at least one seat won; got 0 for every party")
    n_seats = n_won if total is None else _validate_total(total)
    if n_seats < n_won:
        raise ConfigError(
            f"`total` must be at least the {n_won} seats listed in `seats`; got {n_seats}"
        )

    values = np.array([votes[party] for party in parties], dtype=float)
    values /= values.max()
    targets = np.array([won[party] for party in parties], dtype=float) / n_seats

    def squared_error(k: float) -> float:
        powered = np.power(values, k)
        return float(np.sum((powered / powered.sum() - targets) ** 2))

    low, high = POWER_EXPONENT_BOUNDS
    grid = np.arange(low, high + _FIT_GRID_STEP / 2, _FIT_GRID_STEP)
    errors = [squared_error(k) for k in grid]
    best = int(np.argmin(errors))
    bracket = (grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)])
    result = minimize_scalar(
        squared_error, bounds=bracket, method="bounded", options={"xatol": 1e-6}
    )
    fitted = float(result.x) if result.fun <= errors[best] else float(grid[best])

    if math.isclose(fitted, low, abs_tol=1e-3) or math.isclose(fitted, high, abs_tol=1e-3):
        logger.warning(
            "fitted power exponent k=%.3f is at the search bound %s; the power law fits these "
            "results poorly",
            fitted,
            POWER_EXPONENT_BOUNDS,
        )
    logger.info(
        "fitted power exponent k=%.4f on %d parties and %d seats (sum of squared seat-share "
        "errors %.3g)",
        fitted,
        len(parties),
        n_seats,
        squared_error(fitted),
    )
    return fitted
