"""Tests for seatcast.explain: feature weights per class and one tweet's contributions."""

from __future__ import annotations

import numpy as np
import pytest

from seatcast.cli import main
from seatcast.explain import explain_text, linear_view, top_features
from seatcast.model import load_model
from seatcast.preprocess import clean
from tests.test_model import MODES, train_model


@pytest.fixture(scope="module")
def models(tiny_project, tmp_path_factory):
    """A binary and a 3-class model, plus a calibrated binary one."""
    folder = tmp_path_factory.mktemp("explain")
    return {
        "binary": train_model(tiny_project, folder, "binary", False),
        "3class": train_model(tiny_project, folder, "3class", False),
        "calibrated": train_model(tiny_project, folder, "binary", True),
    }


@pytest.mark.parametrize("kind", ["binary", "3class", "calibrated"])
def test_top_features_per_class(models, kind):
    model = load_model(models[kind])
    result = top_features(model, n=7)
    assert list(result) == list(model.labels)
    for rows in result.values():
        assert len(rows) == 7
        weights = [row["weight"] for row in rows]
        assert weights == sorted(weights, reverse=True)
        assert {row["part"] for row in rows} <= {"word", "char", "tweet"}


def test_binary_top_features_mirror_each_other(models):
    model = load_model(models["binary"])
    view = linear_view(model.pipeline)
    result = top_features(model, n=3)
    strongest_negative = int(np.argmin(view.coef[0]))
    assert result["negative"][0]["feature"] == view.names[strongest_negative]
    assert result["negative"][0]["weight"] == pytest.approx(-view.coef[0, strongest_negative])


def test_feature_names_are_readable(models):
    view = linear_view(load_model(models["binary"]).pipeline)
    assert "n_negations" in view.names
    assert any(name.endswith("_NEG") for name in view.names)
    assert any(
        " " in name and part == "word" for part, name in zip(view.parts, view.names, strict=True)
    )
    assert len(view.names) == view.coef.shape[1]


TEXTS = ["I don't like this at all :( #fail", "Best day ever!!! love you all ❤️", "meeting at 5"]


@pytest.mark.parametrize("kind", ["binary", "3class", "calibrated"])
@pytest.mark.parametrize("text", TEXTS)
def test_contributions_add_up_to_score(models, kind, text):
    model = load_model(models[kind])
    result = explain_text(model, text, n=5)
    total = result["intercept"] + sum(row["contribution"] for row in result["contributions"])
    total += result["rest"]
    assert total == pytest.approx(result["scores"][result["explained_class"]], abs=1e-5)
    assert len(result["contributions"]) == min(5, result["n_active"])
    magnitudes = [abs(row["contribution"]) for row in result["contributions"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    for row in result["contributions"]:
        assert row["contribution"] == pytest.approx(row["value"] * row["weight"], rel=1e-5)


@pytest.mark.parametrize("kind", ["binary", "3class"])
def test_scores_match_decision_function(models, kind):
    model = load_model(models[kind])
    result = explain_text(model, TEXTS[1])
    decision = model.pipeline.decision_function([clean(TEXTS[1], model.options)])[0]
    labels, _ = model.predict_tokens([clean(TEXTS[1], model.options)])
    assert result["label"] == labels[0]
    if kind == "binary":
        assert result["scores"]["positive"] == pytest.approx(float(decision), abs=1e-5)
        assert result["explained_class"] == "positive"
    else:
        for k, label in enumerate(MODES["3class"]):
            assert result["scores"][label] == pytest.approx(float(decision[k]), abs=1e-5)
        assert result["explained_class"] == result["label"]


def test_empty_tweet_has_only_intercept(models):
    result = explain_text(load_model(models["binary"]), "   ")
    assert result["tokens"] == []
    assert result["contributions"] == []
    assert result["scores"]["positive"] == pytest.approx(result["intercept"])


def test_cli_explain_lists_classes(models, capsys):
    assert main(["explain", "--model", str(models["3class"]), "--top", "4"]) == 0
    out = capsys.readouterr().out
    for label in MODES["3class"]:
        assert f"strongest features for {label}:" in out


def test_cli_explain_text(models, capsys):
    code = main(["explain", "--model", str(models["calibrated"]), "--text", TEXTS[0], "--top", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "tokens: i don't like this at all :( #fail" in out
    assert "(probability " in out
    assert "(intercept)" in out
    assert "= positive score" in out


def test_cli_explain_json(models, capsys):
    import json

    assert main(["explain", "--model", str(models["binary"]), "--text", TEXTS[2], "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["text"] == TEXTS[2]
    assert result["calibrated"] is False
