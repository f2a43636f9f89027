"""Tests for seatcast.backtest: every score and rule against a real result, and by state."""

import shutil

import pandas as pd
import pytest

from seatcast.backtest import (
    BACKTEST_COLUMNS,
    Calibration,
    fit_calibrations,
    load_state_winners,
    normalise_state,
    seat_methods,
)
from seatcast.cli import main
from seatcast.config import ConstituencyResultsSpec, load_election_config
from seatcast.errors import ConfigError, DataError
from seatcast.scores import SCORE_METHODS

from .conftest import DATA, ROOT


@pytest.fixture(scope="module")
def backtest_project(tiny_project):
    if not (tiny_project / "models" / "tiny.skops").is_file():
        assert main(["-q", "train", "--config", str(tiny_project / "configs" / "tiny.yaml")]) == 0
    shutil.copy(DATA / "india2019" / "LS_2.0.csv.gz", tiny_project / "data" / "ls.csv.gz")
    shutil.copy(DATA / "results" / "uk2015_results.csv", tiny_project / "data" / "uk2015.csv")
    source = (tiny_project / "configs" / "elections" / "tiny2019.yaml").read_text()
    config = tiny_project / "configs" / "elections" / "tinyback.yaml"
    config.write_text(
        source
        + "constituency_results: {path: data/ls.csv.gz, state_aliases: {Rajashthan: Rajasthan}}\n"
        + "backtest: {calibration_results: [data/uk2015.csv]}\n"
    )
    return tiny_project, config


@pytest.fixture(scope="module")
def backtest_run(backtest_project, tmp_path_factory):
    _, config = backtest_project
    reports = tmp_path_factory.mktemp("reports")
    code = main(
        [
            "-q",
            "backtest",
            "--config",
            str(config),
            "--reports-dir",
            str(reports),
            "--resamples",
            "40",
        ]
    )
    assert code == 0
    return reports / "tinyback"


@pytest.mark.slow
def test_backtest_table_covers_every_combination(backtest_run):
    table = pd.read_csv(backtest_run / "backtest.csv")
    assert list(table.columns) == BACKTEST_COLUMNS
    rules = set(table["rule"])
    assert {"hamilton", "dhondt", "sainte-lague", "power k=3.00 (config)"} <= rules
    assert any(rule.endswith("(uk2015)") for rule in rules)
    assert set(table["score"]) == set(SCORE_METHODS)
    assert len(table) == len(SCORE_METHODS) * 5 * 3
    assert (table["abs_error"] == (table["seats_predicted"] - table["seats_actual"]).abs()).all()
    for _, rows in table.groupby(["score", "rule"]):
        assert rows["seats_predicted"].sum() == 542
        assert rows.set_index("party").loc["BJP", "seats_actual"] == 303
        tracked = rows[rows["party"] != "OTHERS"]
        assert (tracked["seats_low"] <= tracked["seats_predicted"]).all()
        assert (tracked["seats_predicted"] <= tracked["seats_high"]).all()


@pytest.mark.slow
def test_backtest_summary_adds_up(backtest_run):
    table = pd.read_csv(backtest_run / "backtest.csv")
    summary = pd.read_csv(backtest_run / "backtest_summary.csv")
    errors = table.groupby(["score", "rule"])["abs_error"].sum()
    for row in summary[summary["score"] != "baseline"].itertuples(index=False):
        assert row.total_abs_error == errors[(row.score, row.rule)]
        assert row.winner_actual == "BJP"
        # OTHERS won 187 seats that no tweet forecast can give them.
        assert row.total_abs_error >= 2 * 187 - 2 * 52
        assert row.tracked_abs_error <= 2 * 355
    baseline = summary[summary["score"] == "baseline"].iloc[0]
    assert baseline["winner_predicted"] == "BJP=INC"
    # Equal split: 271 each; |271-303| + |271-52| + 187.
    assert baseline["total_abs_error"] == 32 + 219 + 187
    assert "| score | rule |" in (backtest_run / "backtest_summary.md").read_text()
    for chart in ("backtest.png", "backtest_seats.png", "backtest_states.png"):
        assert (backtest_run / chart).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_backtest_by_state(backtest_run):
    states = pd.read_csv(backtest_run / "backtest_states.csv")
    summary = pd.read_csv(backtest_run / "backtest_states_summary.csv")
    assert set(states["party"]) == {"BJP", "INC", "OTHERS"}
    per_state = states.groupby(["score", "rule", "state"])
    assert (per_state["seats_predicted"].sum() == per_state["seats_actual"].sum()).all()
    row = summary[(summary["score"] == "pss") & (summary["rule"] == "hamilton")].iloc[0]
    assert row["seats_scored"] + row["seats_without_tweets"] == 542
    assert (
        row["states_scored"]
        == states[(states["score"] == "pss") & (states["rule"] == "hamilton")]["state"].nunique()
    )
    assert row["sum_of_states_BJP"] + row["sum_of_states_INC"] == row["seats_scored"]


def test_state_winners_from_real_file():
    spec = ConstituencyResultsSpec(path=str(DATA / "india2019" / "LS_2.0.csv.gz"))
    winners = load_state_winners(spec, ROOT, ["BJP", "INC"]).set_index("state")
    assert winners["seats_total"].sum() == 542
    assert winners["BJP"].sum() == 303
    assert winners["INC"].sum() == 52
    assert winners.loc["Uttar Pradesh", "seats_total"] == 80
    assert winners.loc["Kerala", "INC"] == 15


def test_state_winners_party_aliases():
    spec = ConstituencyResultsSpec(
        path=str(DATA / "india2019" / "LS_2.0.csv.gz"), party_aliases={"SHS": "BJP"}
    )
    winners = load_state_winners(spec, ROOT, ["BJP", "INC"])
    assert winners["BJP"].sum() == 303 + 18


def test_state_winners_bad_column(tmp_path):
    spec = ConstituencyResultsSpec(
        path=str(DATA / "india2019" / "LS_2.0.csv.gz"), winner_column="WON"
    )
    with pytest.raises(ConfigError, match="column 'WON' not found"):
        load_state_winners(spec, ROOT, ["BJP"])
    with pytest.raises(DataError, match="constituency results file not found"):
        load_state_winners(ConstituencyResultsSpec(path="none.csv"), tmp_path, ["BJP"])


@pytest.mark.parametrize(
    ("tweet_location", "results_state"),
    [
        ("NCT OF Delhi", "NCT OF Delhi"),
        ("NCTOF Delhi", "NCT OF Delhi"),
        ("WestBengal", "West Bengal"),
        ("chandigarh", "Chandigarh"),
        ("Jammu & Kashmir", "Jammu and Kashmir"),
    ],
)
def test_normalise_state(tweet_location, results_state):
    assert normalise_state(tweet_location) == normalise_state(results_state)


@pytest.mark.slow
def test_calibration_fits_other_election(backtest_project):
    root, config_path = backtest_project
    config = load_election_config(config_path)
    [calibration] = fit_calibrations(config, root)
    assert calibration.name == "uk2015"
    assert 1.5 < calibration.k < 2.5
    methods = seat_methods(config, [calibration])
    assert len(methods) == len(SCORE_METHODS) * 5
    assert {method.k for method in methods if method.rule == "power"} == {3.0, calibration.k}


@pytest.mark.slow
def test_calibration_on_own_result_rejected(backtest_project, tmp_path):
    root, config_path = backtest_project
    source = config_path.read_text().replace("data/uk2015.csv", "data/results.csv")
    leaky = root / "configs" / "elections" / "leaky.yaml"
    leaky.write_text(source)
    with pytest.raises(ConfigError, match="must not list the election's own results file"):
        fit_calibrations(load_election_config(leaky), root)


@pytest.mark.slow
def test_backtest_without_results_exits_2(backtest_project, capsys):
    root, config_path = backtest_project
    source = config_path.read_text().replace("results: {path: data/results.csv}\n", "")
    plain = root / "configs" / "elections" / "noresults.yaml"
    plain.write_text(source)
    assert main(["backtest", "--config", str(plain)]) == 2
    assert "`results` is required for a backtest" in capsys.readouterr().err


def test_calibration_label():
    calibration = Calibration("ap2019", "x.csv", 7.67, 7, 175)
    [method] = [m for m in seat_methods(_config_stub(), [calibration]) if "ap2019" in m.label][:1]
    assert method.label == "power k=7.67 (ap2019)"


def _config_stub():
    class Seats:
        k = 3.0

    class Stub:
        seats = Seats()

    return Stub()
