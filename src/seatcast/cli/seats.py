"""The ``seatcast seats`` and ``seatcast calibrate`` subcommands.

``seats`` converts party scores into seats without any tweets: from a counts file (scored with
``--score``) or from weights typed on the command line (``--pss``), optionally compared with a
past election's results. ``calibrate`` fits the exponent ``k`` of the ``power`` seat rule on a
past election's vote shares and seats, for use as ``seats.k`` in an election config.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import sys
from pathlib import Path

import pandas as pd

from seatcast.cli._options import positive_int
from seatcast.errors import ConfigError, DataError
from seatcast.report import write_json
from seatcast.scores import COUNT_COLUMNS, SCORE_METHODS, allocation_weights, compute_scores
from seatcast.seats import (
    DEFAULT_POWER_EXPONENT,
    SEAT_RULES,
    allocate_seats,
    fit_power_exponent,
    power_seat_shares,
)

__all__ = ["register", "run_calibrate", "run_seats"]

logger = logging.getLogger(__name__)

OUTPUT_FORMATS = ("table", "csv", "json")

_PSS_EXAMPLE = "YSRCP=0.61,TDP=0.33,JSP=0.06"


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0; got {value!r}")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``seats`` and ``calibrate`` subcommands to `subparsers`."""
    _register_seats(subparsers)
    _register_calibrate(subparsers)


def _register_seats(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "seats",
        help="convert party scores or counts into seats",
        description=(
            "Allocate seats from per-party tweet counts (--counts) or from weights such as PSS "
            "values (--pss), with a seat rule. With --actual, compare with real results. "
            "The table goes to standard output and logs to standard error."
        ),
    )

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--counts",
        type=Path,
        metavar="FILE",
        help=(
            "CSV (or .json list of objects) with columns "
            f"{','.join(COUNT_COLUMNS)}; scored with --score"
        ),
    )
    source.add_argument(
        "--pss",
        metavar="PARTY=WEIGHT,...",
        help=(
            f"non-negative weight per party, such as {_PSS_EXAMPLE}; "
            "weights are divided by their sum"
        ),
    )

    parser.add_argument(
        "--score",
        choices=SCORE_METHODS,
        default=None,
        help="score computed from --counts (default: pss); see docs/seats.md for formulas",
    )

    parser.add_argument(
        "--total",
        type=positive_int,
        default=None,
        metavar="N",
        help="seats to fill (default with --actual: the seats in that file; required otherwise)",
    )
    parser.add_argument(
        "--rule",
        choices=SEAT_RULES,
        default=None,
        help="seat rule (default: power when --k or --k-file is given, hamilton otherwise)",
    )

    exponent = parser.add_mutually_exclusive_group()
    exponent.add_argument(
        "--k",
        type=_positive_float,
        default=None,
        metavar="FLOAT",
        help=f"exponent of the power rule (default: {DEFAULT_POWER_EXPONENT:g}, the cube law)",
    )
    exponent.add_argument(
        "--k-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="read k from a JSON file written by `seatcast calibrate --output`",
    )

    parser.add_argument(
        "--actual",
        type=Path,
        default=None,
        metavar="FILE",
        help=(
            "results CSV with columns party,seats[,vote_share]; adds seats_actual and error "
            "(predicted minus actual). Rows for parties without a score must have 0 seats"
        ),
    )

    parser.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default="table",
        help="output on standard output: aligned table, CSV or JSON (default: table)",
    )

    parser.set_defaults(func=run_seats)


def _register_calibrate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit the power seat rule's exponent k on a past election",
        description=(
            "Fit k of the power rule (seat share proportional to vote share ** k) on a past "
            "election's results by least squares on seat shares. Use the result as `seats.k` "
            "in an election config, or with `seatcast seats --k-file`."
        ),
    )
    parser.add_argument(
        "--results",
        type=Path,
        required=True,
        metavar="FILE",
        help="results CSV with columns party,seats,vote_share (one row per party)",
    )
    parser.add_argument(
        "--rule",
        choices=("power",),
        default="power",
        help="rule to fit; only power has a parameter (default: power)",
    )
    parser.add_argument(
        "--parties",
        default=None,
        metavar="A,B,C",
        help="fit on these parties only (default: every row of --results)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the fit as JSON to FILE (replaced atomically)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="output on standard output (default: table)",
    )
    parser.set_defaults(func=run_calibrate)


# NOTE: These small readers live here until seatcast.io offers readers for counts and results
# files. They check each row and report the file and line of the first bad one.


def _open_text(path: Path, option: str):
    if not path.is_file():
        raise DataError(f"`{option}` file not found: {path}; check the path")
    try:
        # utf-8-sig drops the byte-order mark that spreadsheet exports often add.
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise DataError(f"`{option}` file {path} cannot be read: {error.strerror}") from error


def _parse_number(text: str | None, where: str, column: str, whole: bool) -> float:
    expected = "a whole number of at least 0" if whole else "a finite number of at least 0"
    try:
        number = float(text) if text is not None else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (whole and not number.is_integer()):
        raise DataError(f"{where}: `{column}` must be {expected}; got {text!r}")
    return number


def _read_csv_rows(path: Path, option: str, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    with _open_text(path, option) as handle:
        try:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [column for column in required if column not in header]
            if missing:
                raise DataError(
                    f"{path}:1: `{option}` file must have columns {','.join(required)}; "
                    f"missing {','.join(missing)} (header is {','.join(header) or 'empty'})"
                )
            rows = [(reader.line_num, row) for row in reader]
        except (csv.Error, UnicodeDecodeError) as error:
            raise DataError(f"{path}: `{option}` file is not valid UTF-8 CSV: {error}") from error
    if not rows:
        raise DataError(f"{path}: `{option}` file has a header but no party rows")
    return rows


def _check_party(path: Path, line: int, name: str | None, seen: set[str]) -> str:
    party = (name or "").strip()
    if not party:
        raise DataError(f"{path}:{line}: `party` must be a non-empty name; got {name!r}")
    if party in seen:
        raise DataError(f"{path}:{line}: party {party!r} is listed twice; keep one row per party")
    seen.add(party)
    return party


def _read_counts_csv(path: Path) -> pd.DataFrame:
    records = []
    seen: set[str] = set()
    for line, row in _read_csv_rows(path, "--counts", COUNT_COLUMNS):
        record = {"party": _check_party(path, line, row["party"], seen)}
        for column in COUNT_COLUMNS[1:]:
            record[column] = int(_parse_number(row[column], f"{path}:{line}", column, whole=True))
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(COUNT_COLUMNS))


def _read_counts_json(path: Path) -> pd.DataFrame:
    with _open_text(path, "--counts") as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as error:
            raise DataError(
                f"{path}:{error.lineno}: `--counts` file is not valid JSON: {error.msg}"
            ) from error
    if isinstance(document, dict) and "counts" in document:
        document = document["counts"]
    if not isinstance(document, list) or not document:
        raise DataError(
            f"{path}: `--counts` JSON must be a non-empty list of objects with keys "
            f'{",".join(COUNT_COLUMNS)} (or an object with such a list under "counts")'
        )
    records = []
    seen: set[str] = set()
    for index, item in enumerate(document):
        where = f"{path}: item {index}"
        if not isinstance(item, dict):
            raise DataError(f"{where}: must be an object; got {type(item).__name__}")
        missing = [column for column in COUNT_COLUMNS if column not in item]
        if missing:
            raise DataError(f"{where}: missing keys {','.join(missing)}")
        party = item["party"]
        if not isinstance(party, str) or not party.strip():
            raise DataError(f"{where}: `party` must be a non-empty name; got {party!r}")
        if party.strip() in seen:
            raise DataError(f"{where}: party {party!r} is listed twice; keep one entry per party")
        seen.add(party.strip())
        record = {"party": party.strip()}
        for column in COUNT_COLUMNS[1:]:
            value = item[column]
            text = None if isinstance(value, bool) else str(value)
            record[column] = int(_parse_number(text, where, column, whole=True))
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(COUNT_COLUMNS))


def _read_results(path: Path, option: str, need_votes: bool) -> pd.DataFrame:
    """Read a results CSV into a frame indexed by party with ``seats`` (and ``vote_share``)."""
    required = ("party", "seats", "vote_share") if need_votes else ("party", "seats")
    records = []
    seen: set[str] = set()
    for line, row in _read_csv_rows(path, option, required):
        where = f"{path}:{line}"
        record = {
            "party": _check_party(path, line, row["party"], seen),
            "seats": int(_parse_number(row["seats"], where, "seats", whole=True)),
            "line": line,
        }
        if need_votes:
            record["vote_share"] = _parse_number(row["vote_share"], where, "vote_share", False)
        records.append(record)
    return pd.DataFrame.from_records(records).set_index("party")


def _parse_pss(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    items = text.split(",")
    for position, item in enumerate(items, start=1):
        party, separator, value = item.partition("=")
        party = party.strip()
        problem = None
        if not separator or not party:
            problem = f"item {position} {item.strip()!r} is not PARTY=WEIGHT"
        elif party in weights:
            problem = f"party {party!r} is given twice"
        else:
            try:
                weight = float(value)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight) or weight < 0:
                problem = f"weight {value.strip()!r} of {party!r} is not a number of at least 0"
        if problem:
            raise ConfigError(
                f"`--pss` must be comma-separated PARTY=WEIGHT pairs with weights of at least 0, "
                f"such as {_PSS_EXAMPLE}; got {text!r} ({problem})"
            )
        weights[party] = weight
    if not any(weight > 0 for weight in weights.values()):
        raise ConfigError(f"`--pss` must give at least one party a weight above 0; got {text!r}")
    return weights


def _read_k_file(path: Path) -> float:
    with _open_text(path, "--k-file") as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as error:
            raise DataError(
                f"{path}:{error.lineno}: `--k-file` is not valid JSON: {error.msg}"
            ) from error
    k = document.get("k") if isinstance(document, dict) else None
    valid = isinstance(k, int | float) and not isinstance(k, bool) and math.isfinite(k) and k > 0
    if not valid:
        raise DataError(
            f"{path}: `k` must be a number above 0, as written by `seatcast calibrate --output`; "
            f"got {k!r}"
        )
    return float(k)


def _resolve_rule(args: argparse.Namespace) -> tuple[str, float | None]:
    k = _read_k_file(args.k_file) if args.k_file is not None else args.k
    k_option = "--k-file" if args.k_file is not None else "--k"
    rule = args.rule or ("power" if k is not None else "hamilton")
    if k is not None and rule != "power":
        raise ConfigError(f"`{k_option}` applies only to --rule power; got --rule {rule}")
    if rule == "power" and k is None:
        k = DEFAULT_POWER_EXPONENT
        logger.info("power rule with k=%g (the cube law); set --k or --k-file to change it", k)
    return rule, k


def _load_weights(args: argparse.Namespace) -> tuple[pd.DataFrame, str | None]:
    """Return a frame indexed by party with ``weight`` (and ``score``), and the score method."""
    if args.pss is not None:
        if args.score is not None:
            raise ConfigError(
                f"`--score` applies only with --counts; got --score {args.score} with --pss"
            )
        weights = pd.Series(_parse_pss(args.pss), name="weight")
        weights.index.name = "party"
        return (weights / weights.sum()).to_frame(), None

    method = args.score or "pss"
    path: Path = args.counts
    is_json = path.suffix.lower() == ".json"
    counts = _read_counts_json(path) if is_json else _read_counts_csv(path)
    scores = compute_scores(counts, method)
    weights = allocation_weights(scores, method)
    logger.info("read counts for %d parties from %s; scored with %s", len(counts), path, method)
    return pd.DataFrame({"score": scores, "weight": weights}), method


def _compare_with_actual(table: pd.DataFrame, actual: pd.DataFrame, path: Path) -> pd.DataFrame:
    unscored = [party for party in actual.index if party not in table.index]
    for party in unscored:
        if actual.at[party, "seats"] > 0:
            raise DataError(
                f"{path}:{actual.at[party, 'line']}: party {party!r} won "
                f"{actual.at[party, 'seats']} seats but has no predicted score; check its "
                f"spelling or add it to --pss/--counts (known: {', '.join(table.index)})"
            )
    if unscored:
        logger.info(
            "ignored %d zero-seat parties of %s without a score: %s",
            len(unscored),
            path,
            ", ".join(unscored),
        )
    absent = [party for party in table.index if party not in actual.index]
    if absent:
        raise DataError(
            f"{path}: no row for scored parties {', '.join(absent)}; add a row such as "
            f"{absent[0]},0 or fix the spelling"
        )
    table["seats_actual"] = actual.loc[table.index, "seats"].astype(int)
    table["error"] = table["seats_predicted"] - table["seats_actual"]
    return table


def _seats_summary(
    table: pd.DataFrame, rule: str, k: float | None, total: int, method: str | None
) -> dict:
    summary: dict = {"rule": rule, "k": k, "total": total, "score": method}
    if "error" in table:
        summary["mean_absolute_error"] = float(table["error"].abs().mean())
        # Every seat given to the wrong party shows up twice in the errors: once too many for
        # one party and once too few for another.
        summary["seats_misallocated"] = int(table["error"].abs().sum() // 2)
    return summary


def _print_seats(table: pd.DataFrame, summary: dict, output_format: str) -> None:
    frame = table.reset_index()
    if output_format == "csv":
        columns = ["party", "seats_predicted"]
        if "seats_actual" in frame:
            columns += ["seats_actual", "error"]
        frame[columns].to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    if output_format == "json":
        # JSON has no NaN, so an undefined score is written as null.
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        document = {**summary, "parties": records}
        sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")
        return
    formatters = {column: "{:.4f}".format for column in ("score", "weight") if column in frame}
    sys.stdout.write(frame.to_string(index=False, formatters=formatters) + "\n")
    rule_text = summary["rule"] if summary["k"] is None else f"power (k={summary['k']:.4g})"
    lines = [f"rule: {rule_text}; seats: {summary['total']}"]
    if summary["score"]:
        lines.append(f"score: {summary['score']}")
    if "mean_absolute_error" in summary:
        lines.append(
            f"mean absolute error: {summary['mean_absolute_error']:.2f} seats per party; "
            f"seats misallocated: {summary['seats_misallocated']}"
        )
    sys.stdout.write("\n".join(lines) + "\n")


def run_seats(args: argparse.Namespace) -> None:
    """Run ``seatcast seats``: allocate seats and print them in the chosen format."""
    rule, k = _resolve_rule(args)
    table, method = _load_weights(args)

    total = args.total
    actual = None
    actual_total = None
    if args.actual is not None:
        actual = _read_results(args.actual, "--actual", need_votes=False)
        actual_total = int(actual["seats"].sum())
        if total is None:
            total = actual_total
            logger.info("filling %d seats, the total of %s", total, args.actual)
    if total is None:
        raise ConfigError("`--total` must be given (the number of seats) unless --actual is")
    if actual_total is not None and actual_total != total:
        logger.warning(
            "--total %d differs from the %d seats in %s; errors compare unequal totals",
            total,
            actual_total,
            args.actual,
        )

    seats = allocate_seats(
        table["weight"].to_dict(),
        total,
        rule=rule,
        k=k if k is not None else DEFAULT_POWER_EXPONENT,
    )
    table["seats_predicted"] = pd.Series(seats)
    if actual is not None:
        table = _compare_with_actual(table, actual, args.actual)
    logger.info("allocated %d seats to %d parties with rule %s", total, len(table), rule)

    summary = _seats_summary(table, rule, k, total, method)
    if "seats_misallocated" in summary:
        logger.info(
            "compared with %s: %d seats misallocated", args.actual, summary["seats_misallocated"]
        )
    _print_seats(table, summary, args.format)


def _write_fit(path: Path, document: dict) -> None:
    # write_json goes through a temporary file and os.replace, so a failed write keeps the old file.
    try:
        write_json(path, document)
    except OSError as error:
        raise ConfigError(
            f"`--output` must be a writable file path; got {path} ({error.strerror})"
        ) from error


def _select_parties(results: pd.DataFrame, parties: str | None, path: Path) -> pd.DataFrame:
    if parties is None:
        return results
    names = [name.strip() for name in parties.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise ConfigError(
            f"`--parties` must be distinct comma-separated names such as YSRCP,TDP,JSP; "
            f"got {parties!r}"
        )
    unknown = [name for name in names if name not in results.index]
    if unknown:
        raise ConfigError(
            f"`--parties` must name parties in {path}; got unknown {', '.join(unknown)} "
            f"(known: {', '.join(results.index)})"
        )
    return results.loc[names]


def run_calibrate(args: argparse.Namespace) -> None:
    """Run ``seatcast calibrate``: fit k of the power rule and print (and write) it."""
    results = _read_results(args.results, "--results", need_votes=True)
    results = _select_parties(results, args.parties, args.results)
    vote_shares = results["vote_share"].to_dict()
    seats_won = {party: int(seats) for party, seats in results["seats"].items()}
    if not any(share > 0 for share in vote_shares.values()):
        raise DataError(f"{args.results}: every selected party has vote_share 0; nothing to fit")
    if sum(seats_won.values()) == 0:
        raise DataError(f"{args.results}: the selected parties won no seats; nothing to fit")

    k = fit_power_exponent(vote_shares, seats_won)
    total = sum(seats_won.values())
    shares = power_seat_shares(vote_shares, k)
    seats_fitted = allocate_seats(vote_shares, total, rule="power", k=k)

    table = results[["vote_share", "seats"]].rename(columns={"seats": "seats_actual"})
    table["seat_share_actual"] = table["seats_actual"] / total
    table["seat_share_fitted"] = pd.Series(shares)
    table["seats_fitted"] = pd.Series(seats_fitted)
    squared_error = float(((table["seat_share_fitted"] - table["seat_share_actual"]) ** 2).sum())

    document = {
        "rule": args.rule,
        "k": k,
        "results": str(args.results),
        "parties": list(results.index),
        "total": total,
        "sum_squared_error": squared_error,
        "seats_fitted": seats_fitted,
        "seats_actual": seats_won,
    }
    if args.output is not None:
        _write_fit(args.output, document)
        logger.info(
            "wrote k=%.4f to %s; use it with `seatcast seats --k-file %s` or as "
            "seats.k in an election config",
            k,
            args.output,
            args.output,
        )

    if args.format == "json":
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    formatters = {
        "vote_share": "{:.2f}".format,
        "seat_share_actual": "{:.4f}".format,
        "seat_share_fitted": "{:.4f}".format,
    }
    sys.stdout.write(table.reset_index().to_string(index=False, formatters=formatters) + "\n")
    sys.stdout.write(
        f"k = {k:.4f} (power rule, {len(results)} parties, {total} seats; "
        f"sum of squared seat-share errors {squared_error:.3g})\n"
    )
