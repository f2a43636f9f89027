"""Tests for the ``seatcast seats`` and ``seatcast calibrate`` commands."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import seatcast
from seatcast.cli import main

# Andhra Pradesh 2019 Assembly results, 175 seats; the rows of data/results/ap2019_results.csv.
AP_RESULTS = """\
party,seats,vote_share
YSRCP,151,49.95
TDP,23,39.17
JSP,1,5.53
INC,0,1.17
BJP,0,0.84
NOTA,0,1.28
OTHERS,0,2.06
"""

AP_VOTES_PSS = "YSRCP=49.95,TDP=39.17,JSP=5.53"

# Illustrative weights, chosen as seats ** (1 / k) for 151, 23 and 1 seats at the fitted k and
# rounded to 3 decimals. They are not the study's PSS values, which are not published.
ILLUSTRATIVE_PSS = "YSRCP=0.434,TDP=0.340,JSP=0.226"


@pytest.fixture
def ap_results(tmp_path):
    path = tmp_path / "ap2019_results.csv"
    path.write_text(AP_RESULTS, encoding="utf-8")
    return path


@pytest.fixture
def counts_csv(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(
        "party,n_tweets,n_positive,n_negative\nA,100,50,20\nB,80,30,30\nC,20,20,0\n",
        encoding="utf-8",
    )
    return path


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_seats_csv_hamilton(capsys):
    code, out, _ = run_cli(
        capsys, "seats", "--pss", AP_VOTES_PSS, "--total", "175", "--format", "csv"
    )
    assert code == 0
    assert out == "party,seats_predicted\nYSRCP,92\nTDP,73\nJSP,10\n"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("dhondt", ["93", "72", "10"]),
        ("sainte-lague", ["92", "73", "10"]),
        ("power", ["118", "57", "0"]),
    ],
)
def test_seats_rules_ap2019(capsys, rule, expected):
    code, out, _ = run_cli(
        capsys,
        "seats",
        "--pss",
        AP_VOTES_PSS,
        "--total",
        "175",
        "--rule",
        rule,
        "--format",
        "csv",
    )
    assert code == 0
    assert [row["seats_predicted"] for row in read_csv(out)] == expected


def test_seats_table_lists_weights_and_rule(capsys):
    code, out, err = run_cli(capsys, "seats", "--pss", "A=3,B=1", "--total", "4")
    assert code == 0
    assert "0.7500" in out
    assert "rule: hamilton; seats: 4" in out
    assert "allocated 4 seats to 2 parties with rule hamilton" in err


def test_seats_k_implies_power(capsys):
    code, out, _ = run_cli(
        capsys, "seats", "--pss", AP_VOTES_PSS, "--total", "175", "--k", "7.7", "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["rule"] == "power"
    assert document["k"] == 7.7
    seats = {row["party"]: row["seats_predicted"] for row in document["parties"]}
    assert seats == {"YSRCP": 152, "TDP": 23, "JSP": 0}


def test_seats_counts_with_score(capsys, counts_csv):
    code, out, err = run_cli(
        capsys, "seats", "--counts", str(counts_csv), "--total", "10", "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["score"] == "pss"
    # PSS 0.5 / 0.3 / 0.2 of 10 seats.
    assert [row["seats_predicted"] for row in document["parties"]] == [5, 3, 2]
    assert [row["score"] for row in document["parties"]] == pytest.approx([0.5, 0.3, 0.2])
    assert "scored with pss" in err


def test_seats_counts_mentions(capsys, counts_csv):
    code, out, _ = run_cli(
        capsys,
        "seats",
        "--counts",
        str(counts_csv),
        "--total",
        "10",
        "--score",
        "mentions",
        "--format",
        "csv",
    )
    assert code == 0
    # Mentions 100 / 80 / 20 of 200 tweets: quotas 5, 4 and 1.
    assert out == "party,seats_predicted\nA,5\nB,4\nC,1\n"


def test_seats_counts_json(capsys, tmp_path):
    path = tmp_path / "counts.json"
    records = [
        {"party": "A", "n_tweets": 100, "n_positive": 50, "n_negative": 20},
        {"party": "B", "n_tweets": 80, "n_positive": 30, "n_negative": 30},
        {"party": "C", "n_tweets": 20, "n_positive": 20, "n_negative": 0},
    ]
    path.write_text(json.dumps({"counts": records}), encoding="utf-8")
    code, out, _ = run_cli(
        capsys, "seats", "--counts", str(path), "--total", "10", "--format", "csv"
    )
    assert code == 0
    assert out == "party,seats_predicted\nA,5\nB,3\nC,2\n"


def test_seats_json_undefined_score_is_null(capsys, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("party,n_tweets,n_positive,n_negative\nA,10,6,4\nB,3,0,0\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"NaN for \['B'\]"):
        code, out, _ = run_cli(
            capsys,
            "seats",
            "--counts",
            str(path),
            "--score",
            "net",
            "--total",
            "5",
            "--format",
            "json",
        )
    assert code == 0
    rows = json.loads(out)["parties"]
    assert rows[1]["score"] is None
    assert rows[1]["seats_predicted"] == 0


def test_seats_actual_adds_error_columns(capsys, ap_results):
    code, out, err = run_cli(
        capsys, "seats", "--pss", AP_VOTES_PSS, "--actual", str(ap_results), "--format", "csv"
    )
    assert code == 0
    rows = read_csv(out)
    assert list(rows[0]) == ["party", "seats_predicted", "seats_actual", "error"]
    assert rows[0] == {
        "party": "YSRCP",
        "seats_predicted": "92",
        "seats_actual": "151",
        "error": "-59",
    }
    assert rows[2] == {"party": "JSP", "seats_predicted": "10", "seats_actual": "1", "error": "9"}
    # --total defaults to the 175 seats of the results file; zero-seat rows are skipped.
    assert "filling 175 seats" in err
    assert "ignored 4 zero-seat parties" in err


def test_seats_actual_summary_in_json(capsys, ap_results):
    code, out, _ = run_cli(
        capsys, "seats", "--pss", AP_VOTES_PSS, "--actual", str(ap_results), "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    # Hamilton 92 / 73 / 10 against 151 / 23 / 1: errors -59, +50, +9.
    assert document["seats_misallocated"] == 59
    assert document["mean_absolute_error"] == pytest.approx(118 / 3)


def test_seats_total_mismatch_warns(capsys, ap_results):
    code, _, err = run_cli(
        capsys, "seats", "--pss", AP_VOTES_PSS, "--actual", str(ap_results), "--total", "170"
    )
    assert code == 0
    assert "--total 170 differs from the 175 seats" in err


def test_calibrate_then_seats_reproduces_ap2019(capsys, ap_results, tmp_path):
    k_file = tmp_path / "fit" / "k.json"
    code, out, _ = run_cli(
        capsys, "calibrate", "--results", str(ap_results), "--output", str(k_file)
    )
    assert code == 0
    assert "k = 7.66" in out
    assert json.loads(k_file.read_text(encoding="utf-8"))["k"] == pytest.approx(7.666, abs=0.005)

    code, out, _ = run_cli(
        capsys,
        "seats",
        "--pss",
        ILLUSTRATIVE_PSS,
        "--rule",
        "power",
        "--k-file",
        str(k_file),
        "--actual",
        str(ap_results),
        "--format",
        "csv",
    )
    assert code == 0
    assert out == (
        "party,seats_predicted,seats_actual,error\nYSRCP,151,151,0\nTDP,23,23,0\nJSP,1,1,0\n"
    )


def test_calibrate_json_and_parties(capsys, ap_results):
    code, out, _ = run_cli(
        capsys,
        "calibrate",
        "--results",
        str(ap_results),
        "--parties",
        "YSRCP,TDP,JSP",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["parties"] == ["YSRCP", "TDP", "JSP"]
    assert document["total"] == 175
    assert document["rule"] == "power"
    assert document["seats_actual"] == {"YSRCP": 151, "TDP": 23, "JSP": 1}
    # Whole seats at the fitted k: YSRCP 151.50, TDP 23.50, JSP 0.00 -> 151 / 24 / 0.
    assert document["seats_fitted"]["JSP"] == 0
    assert sum(document["seats_fitted"].values()) == 175


def test_calibrate_output_replaces_file_without_leftovers(capsys, ap_results, tmp_path):
    k_file = tmp_path / "k.json"
    k_file.write_text("old", encoding="utf-8")
    code, _, err = run_cli(
        capsys, "calibrate", "--results", str(ap_results), "--output", str(k_file)
    )
    assert code == 0
    assert json.loads(k_file.read_text(encoding="utf-8"))["rule"] == "power"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ap2019_results.csv", "k.json"]
    assert f"--k-file {k_file}" in err


@pytest.mark.parametrize(
    "pss",
    [
        "YSRCP:0.61,TDP=0.33",
        "YSRCP=0.61,,TDP=0.33",
        "=0.5,TDP=0.33",
        "YSRCP=abc",
        "YSRCP=-0.1,TDP=0.5",
        "YSRCP=nan",
        "YSRCP=inf,TDP=1",
        "A=1,A=2",
    ],
)
def test_seats_malformed_pss(capsys, pss):
    code, out, err = run_cli(capsys, "seats", "--pss", pss, "--total", "10")
    assert code == 2
    assert out == ""
    assert "ConfigError: `--pss` must be comma-separated PARTY=WEIGHT pairs" in err
    assert len(err.strip().splitlines()) == 1


def test_seats_all_zero_pss(capsys):
    code, _, err = run_cli(capsys, "seats", "--pss", "A=0,B=0", "--total", "10")
    assert code == 2
    assert "`--pss` must give at least one party a weight above 0" in err


def test_seats_missing_counts_file(capsys, tmp_path):
    missing = tmp_path / "nope.csv"
    code, _, err = run_cli(capsys, "seats", "--counts", str(missing), "--total", "10")
    assert code == 2
    assert f"DataError: `--counts` file not found: {missing}" in err


def test_seats_bad_counts_line(capsys, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("party,n_tweets,n_positive,n_negative\nA,10,5,1\nB,10,x,1\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "seats", "--counts", str(path), "--total", "10")
    assert code == 2
    assert f"{path}:3: `n_positive` must be a whole number of at least 0; got 'x'" in err


def test_seats_counts_missing_column(capsys, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("party,n_tweets,n_positive\nA,10,5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "seats", "--counts", str(path), "--total", "10")
    assert code == 2
    assert f"{path}:1: `--counts` file must have columns" in err
    assert "missing n_negative" in err


def test_seats_counts_bad_json(capsys, tmp_path):
    path = tmp_path / "counts.json"
    path.write_text('[{"party": "A", "n_tweets": 3, "n_positive": 1}]', encoding="utf-8")
    code, _, err = run_cli(capsys, "seats", "--counts", str(path), "--total", "10")
    assert code == 2
    assert f"{path}: item 0: missing keys n_negative" in err


def test_seats_unknown_party_with_seats_in_actual(capsys, ap_results):
    code, _, err = run_cli(
        capsys, "seats", "--pss", "YSRCP=0.6,TDP=0.4", "--actual", str(ap_results)
    )
    assert code == 2
    assert f"{ap_results}:4: party 'JSP' won 1 seats but has no predicted score" in err


def test_seats_scored_party_missing_from_actual(capsys, ap_results):
    code, _, err = run_cli(
        capsys, "seats", "--pss", AP_VOTES_PSS + ",AAP=0.5", "--actual", str(ap_results)
    )
    assert code == 2
    assert "no row for scored parties AAP; add a row such as AAP,0" in err


def test_seats_actual_duplicate_party(capsys, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("party,seats\nA,3\nA,2\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "seats", "--pss", "A=1", "--actual", str(path))
    assert code == 2
    assert f"{path}:3: party 'A' is listed twice" in err


def test_seats_needs_total_without_actual(capsys):
    code, _, err = run_cli(capsys, "seats", "--pss", "A=1,B=2")
    assert code == 2
    assert "`--total` must be given" in err


def test_seats_k_with_other_rule(capsys):
    code, _, err = run_cli(
        capsys, "seats", "--pss", "A=1,B=2", "--total", "5", "--rule", "dhondt", "--k", "3"
    )
    assert code == 2
    assert "`--k` applies only to --rule power; got --rule dhondt" in err


def test_seats_score_with_pss(capsys):
    code, _, err = run_cli(capsys, "seats", "--pss", "A=1,B=2", "--total", "5", "--score", "net")
    assert code == 2
    assert "`--score` applies only with --counts" in err


def test_seats_bad_k_file(capsys, tmp_path):
    path = tmp_path / "k.json"
    path.write_text('{"k": -2}', encoding="utf-8")
    code, _, err = run_cli(capsys, "seats", "--pss", "A=1", "--total", "5", "--k-file", str(path))
    assert code == 2
    assert "`k` must be a number above 0" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["seats", "--pss", "A=1", "--total", "0"],
        ["seats", "--pss", "A=1", "--total", "5", "--k", "-1"],
        ["seats", "--pss", "A=1", "--total", "5", "--rule", "cube"],
        ["seats", "--total", "5"],
        ["seats", "--pss", "A=1", "--counts", "x.csv", "--total", "5"],
    ],
)
def test_seats_bad_options_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "seatcast: error:" in capsys.readouterr().err


def test_calibrate_unwritable_output(capsys, ap_results, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    code, _, err = run_cli(
        capsys, "calibrate", "--results", str(ap_results), "--output", str(blocker / "k.json")
    )
    assert code == 2
    assert "ConfigError: `--output` must be a writable file path" in err


def test_calibrate_unknown_party(capsys, ap_results):
    code, _, err = run_cli(
        capsys, "calibrate", "--results", str(ap_results), "--parties", "YSRCP,YSR"
    )
    assert code == 2
    assert "`--parties` must name parties in" in err
    assert "got unknown YSR" in err


def test_calibrate_needs_vote_share(capsys, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("party,seats\nA,3\nB,2\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "calibrate", "--results", str(path))
    assert code == 2
    assert "missing vote_share" in err


def test_calibrate_bad_vote_share(capsys, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("party,seats,vote_share\nA,3,40\nB,2,-1\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "calibrate", "--results", str(path))
    assert code == 2
    assert f"{path}:3: `vote_share` must be a finite number of at least 0; got '-1'" in err


def test_calibrate_no_seats(capsys, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("party,seats,vote_share\nA,0,40\nB,0,60\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "calibrate", "--results", str(path))
    assert code == 2
    assert "won no seats; nothing to fit" in err


def test_seats_subprocess_csv_stdout_only(tmp_path):
    source_root = str(Path(seatcast.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (source_root, env.get("PYTHONPATH")) if part
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "seatcast",
            "seats",
            "--pss",
            AP_VOTES_PSS,
            "--total",
            "175",
            "--rule",
            "dhondt",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "party,seats_predicted\nYSRCP,93\nTDP,72\nJSP,10\n"
    assert "INFO allocated 175 seats to 3 parties with rule dhondt" in completed.stderr
