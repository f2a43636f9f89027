"""A tiny train and predict run through the real CLI, on real tweets, and CLI errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from seatcast.cli import main


@pytest.fixture(scope="module")
def trained(tiny_project):
    """Train the tiny model once for the module."""
    code = main(["-q", "train", "--config", str(tiny_project / "configs" / "tiny.yaml")])
    assert code == 0
    return tiny_project


def test_train_writes_model_metrics_and_plot(trained, capsys):
    models = sorted(path.name for path in (trained / "models").iterdir())
    assert models == ["tiny.json", "tiny.skops"]
    metrics = json.loads((trained / "reports" / "tiny" / "metrics.json").read_text())
    assert metrics["n_splits"] == 3
    assert len(metrics["folds"]) == 3
    assert set(metrics["mean"]) >= {"accuracy", "macro_precision", "macro_recall", "macro_f1"}
    assert 0.5 < metrics["mean"]["accuracy"] <= 1.0
    assert metrics["rows"]["rows_read"] == (
        metrics["rows"]["rows_used"] + metrics["rows"]["rows_excluded"] + metrics["rows"]["rows_rejected"]
    )
    assert (trained / "reports" / "tiny" / "cv_folds.png").read_bytes()[:4] == b"\x89PNG"
    metadata = json.loads((trained / "models" / "tiny.json").read_text())
    assert metadata["labels"] == ["negative", "positive"]
    assert metadata["training_files"][0]["sha256"]
    assert metadata["sklearn_version"]


def test_predict_writes_seat_table(trained, capsys):
    config = trained / "configs" / "elections" / "tiny2019.yaml"
    assert main(["predict", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "seats_actual" in out
    assert "total absolute seat error" in out
    report = trained / "reports" / "tiny2019"
    table = pd.read_csv(report / "seats.csv")
    assert list(table.columns[:7]) == [
        "party", "n_tweets", "n_positive", "n_negative", "pss", "seats_predicted", "seats_actual",
    ]
    assert table.set_index("party").loc[["BJP", "INC"], "seats_predicted"].sum() == 542
    assert table.set_index("party").loc["BJP", "seats_actual"] == 303
    assert abs(table["pss"].dropna().sum() - 1.0) < 1e-9
    tracked = table[table["party"].isin(["BJP", "INC"])]
    assert (tracked["seats_low"] <= tracked["seats_predicted"]).all()
    assert (tracked["seats_predicted"] <= tracked["seats_high"]).all()
    assert (report / "seats.png").read_bytes()[:4] == b"\x89PNG"
    seats_json = json.loads((report / "seats.json").read_text())
    rows = seats_json["rows"]
    assert rows["rows_read"] == 600
    assert rows["rows_read"] == rows["rows_used"] + rows["rows_excluded"] + rows["rows_rejected"]
    predictions = pd.read_csv(report / "predictions.csv.gz")
    assert len(predictions) == rows["rows_used"]
    assert set(predictions["label"]) <= {"positive", "negative"}


def test_predict_same_result_with_two_jobs(trained, tmp_path):
    config = trained / "configs" / "elections" / "tiny2019.yaml"
    one = tmp_path / "one"
    two = tmp_path / "two"
    assert main(["-q", "predict", "--config", str(config), "--jobs", "1", "--reports-dir", str(one)]) == 0
    assert main(["-q", "predict", "--config", str(config), "--jobs", "2", "--reports-dir", str(two)]) == 0
    assert (one / "tiny2019" / "seats.csv").read_bytes() == (two / "tiny2019" / "seats.csv").read_bytes()
    first = pd.read_csv(one / "tiny2019" / "predictions.csv.gz")
    second = pd.read_csv(two / "tiny2019" / "predictions.csv.gz")
    pd.testing.assert_frame_equal(first, second)


def test_evaluate_writes_required_keys(trained, tmp_path, capsys):
    output = tmp_path / "eval" / "metrics.json"
    code = main([
        "evaluate", "--model", str(trained / "models" / "tiny.skops"),
        "--data", str(trained / "data" / "train.tsv"), "--format", "semeval",
        "--output", str(output),
    ])
    assert code == 0
    metrics = json.loads(output.read_text())
    for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class",
                "confusion_matrix", "n_rows", "n_rejected"):
        assert key in metrics
    assert metrics["n_rejected"] == 0
    assert output.with_suffix(".png").exists()


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "seatcast", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_missing_config_is_one_line_error(tmp_path):
    result = run_cli("train", "--config", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "config file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_config_key_exit_2(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("data:\n  train: [{path: x.tsv}]\ncv: {n_split: 3}\n")
    result = run_cli("train", "--config", str(config))
    assert result.returncode == 2
    assert "did you mean `n_splits`" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_column_exit_2(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("tweet\nhello\n")
    result = run_cli("preprocess", str(data), "--output", str(tmp_path / "out.jsonl"))
    assert result.returncode == 2
    assert "column 'text' not found" in result.stderr
    assert "--text-column" in result.stderr or "text_column" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_model_exit_2(tiny_project, tmp_path):
    config = tiny_project / "configs" / "elections" / "tiny2019.yaml"
    result = run_cli("predict", "--config", str(config), "--model", str(tmp_path / "none.skops"))
    assert result.returncode == 2
    assert "model file not found" in result.stderr
    assert "seatcast train" in result.stderr


def test_bad_jobs_value_is_usage_error():
    result = run_cli("train", "--config", "x.yaml", "--jobs", "0")
    assert result.returncode == 2
    assert "must be at least 1" in result.stderr


def test_no_command_prints_help():
    result = run_cli()
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


def test_predict_without_dates_skips_subevents(trained, tmp_path, capsys):
    text = (trained / "configs" / "elections" / "tiny2019.yaml").read_text()
    text = text.replace(" date_column: dates,", "")
    config = trained / "configs" / "elections" / "nodates.yaml"
    config.write_text(text)
    code = main(["predict", "--config", str(config), "--reports-dir", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "nodates" / "seats.csv").exists()
    assert not (tmp_path / "nodates" / "subevents.csv").exists()
    assert "Skipped sub-events" in capsys.readouterr().err
