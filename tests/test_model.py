"""Tests for seatcast.model: training pipelines, confidence, and rejecting unsafe model files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from seatcast.cli import main
from seatcast.dataset import file_sha256
from seatcast.errors import ModelError
from seatcast.model import TRUSTED_TYPES, load_model, save_model
from seatcast.preprocess import clean

MODES = {"binary": ["negative", "positive"], "3class": ["negative", "neutral", "positive"]}


def train_model(tiny_project: Path, folder: Path, mode: str, calibrate: bool) -> Path:
    """Train a model on the tiny project's 1,200 SemEval tweets without CV; return its path."""
    name = f"{mode}-{'calibrated' if calibrate else 'svm'}"
    config = folder / f"{name}.yaml"
    config.write_text(
        f"""
mode: {mode}
data:
  train:
    - {{path: {tiny_project / "data" / "train.tsv"}, format: semeval}}
features:
  char_ngram_range: [3, 5]
model:
  calibrate: {str(calibrate).lower()}
  calibration_folds: 3
run: {{jobs: 1, chunk_size: 300}}
""",
        encoding="utf-8",
    )
    models = folder / "models"
    args = ["-q", "train", "--no-cv", "--config", str(config), "--models-dir", str(models)]
    args += ["--reports-dir", str(folder / "reports")]
    assert main(args) == 0
    return models / f"{name}.skops"


@pytest.fixture(scope="module")
def trained(tiny_project, tmp_path_factory) -> dict[tuple[str, bool], Path]:
    """A model of each mode, calibrated and not."""
    folder = tmp_path_factory.mktemp("models")
    return {
        (mode, calibrate): train_model(tiny_project, folder, mode, calibrate)
        for mode in MODES
        for calibrate in (False, True)
    }


def copy_model(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.copy(source, target)
    shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    return target


def edit_metadata(path: Path, **changes) -> None:
    meta = path.with_suffix(".json")
    data = json.loads(meta.read_text(encoding="utf-8"))
    data.update(changes)
    meta.write_text(json.dumps(data), encoding="utf-8")


TWEETS = [
    "I love this phone, best purchase ever :)",
    "Worst service I have ever had. Never again!!!",
    "The match starts at 8pm tomorrow on channel 4",
    "not bad at all, actually pretty good",
]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("calibrate", [False, True])
def test_trained_model_loads_with_trusted_types(trained, mode, calibrate):
    path = trained[(mode, calibrate)]
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(TRUSTED_TYPES)
    model = load_model(path, expect_labels=MODES[mode])
    assert model.labels == tuple(MODES[mode])
    assert model.calibrated is calibrate
    labels, confidence = model.predict_tokens([clean(text, model.options) for text in TWEETS])
    assert set(labels) <= set(MODES[mode])
    assert confidence.shape == (len(TWEETS),)


def test_uncalibrated_binary_confidence_is_margin(trained):
    model = load_model(trained[("binary", False)])
    documents = [clean(text, model.options) for text in TWEETS]
    labels, confidence = model.predict_tokens(documents)
    margins = model.pipeline.decision_function(documents)
    np.testing.assert_allclose(confidence, np.abs(margins))
    assert labels == ["positive" if m > 0 else "negative" for m in margins]


@pytest.mark.parametrize("mode", list(MODES))
def test_calibrated_confidence_is_probability(trained, mode):
    model = load_model(trained[(mode, True)])
    documents = [clean(text, model.options) for text in TWEETS]
    labels, confidence = model.predict_tokens(documents)
    probabilities = model.pipeline.predict_proba(documents)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(confidence, probabilities.max(axis=1))
    assert (confidence >= 1 / len(MODES[mode]) - 1e-9).all()
    assert (confidence <= 1).all()
    assert labels == [model.pipeline.classes_[i] for i in probabilities.argmax(axis=1)]


def test_calibrated_model_ranks_clear_tweets(trained):
    model = load_model(trained[("binary", True)])
    documents = [clean(text, model.options) for text in TWEETS[:2]]
    probabilities = model.pipeline.predict_proba(documents)
    positive = list(model.pipeline.classes_).index("positive")
    assert probabilities[0, positive] > probabilities[1, positive]


def test_metadata_records_calibration(trained):
    meta = json.loads(trained[("3class", True)].with_suffix(".json").read_text())
    assert meta["calibrated"] is True
    assert meta["labels"] == MODES["3class"]
    assert meta["model_sha256"] == file_sha256(trained[("3class", True)])


def test_tampered_model_is_refused(trained, tmp_path):
    path = copy_model(trained[("binary", False)], tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"failed its integrity check: SHA-256"):
        load_model(path)


def test_sklearn_version_mismatch_is_refused(trained, tmp_path):
    path = copy_model(trained[("binary", False)], tmp_path)
    edit_metadata(path, sklearn_version="0.24.2")
    with pytest.raises(ModelError, match=r"saved with scikit-learn 0\.24\.2, but .* installed"):
        load_model(path)


def test_metadata_label_mismatch_is_refused(trained, tmp_path):
    path = copy_model(trained[("binary", False)], tmp_path)
    edit_metadata(path, labels=MODES["3class"])
    with pytest.raises(
        ModelError, match=r"lists labels negative, neutral, positive, but the model"
    ):
        load_model(path)


def test_expected_labels_mismatch_is_refused(trained):
    with pytest.raises(ModelError, match=r"use a model of the right mode"):
        load_model(trained[("binary", False)], expect_labels=MODES["3class"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"labels": "negative,positive"}, r"`labels` must be a list of label names"),
        ({"preprocess": {"urls": "shout"}}, r"invalid `preprocess` settings"),
    ],
)
def test_malformed_metadata_is_refused(trained, tmp_path, changes, message):
    path = copy_model(trained[("binary", False)], tmp_path)
    edit_metadata(path, **changes)
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_metadata_not_an_object_is_refused(trained, tmp_path):
    path = copy_model(trained[("binary", False)], tmp_path)
    path.with_suffix(".json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelError, match=r"must be a JSON object"):
        load_model(path)


class Shout(TransformerMixin, BaseEstimator):
    """A transformer that seatcast does not know, standing in for arbitrary code."""

    def fit(self, documents, y=None):
        return self

    def transform(self, documents):
        return np.array([[len(d)] for d in documents], dtype=float)


def test_untrusted_type_is_refused(tmp_path):
    pipeline = Pipeline([("features", Shout()), ("svm", LinearSVC())])
    pipeline.fit([["a"], ["b", "c"], ["d"], ["e", "f", "g"]], ["negative", "positive"] * 2)
    path = tmp_path / "shout.skops"
    save_model(
        pipeline,
        path,
        {"labels": ["negative", "positive"], "preprocess": {}, "calibrated": False},
    )
    with pytest.raises(
        ModelError, match=r"types that seatcast does not trust \(tests\.test_model\.Shout"
    ):
        load_model(path)


def test_cli_refuses_tampered_model_with_exit_2(trained, tmp_path, capsys, project_root):
    path = copy_model(trained[("binary", False)], tmp_path)
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    labelled = tmp_path / "dev.csv"
    labelled.write_text("text,label\ngood day,positive\nbad day,negative\n", encoding="utf-8")
    code = main(["evaluate", "--model", str(path), "--data", str(labelled)])
    captured = capsys.readouterr()
    assert code == 2
    assert "ModelError: model file" in captured.err
    assert "integrity check" in captured.err
    assert "Traceback" not in captured.err


def test_cli_refuses_untrusted_model_with_exit_2(tmp_path, capsys):
    pipeline = Pipeline([("features", Shout()), ("svm", LinearSVC())])
    pipeline.fit([["a"], ["b", "c"], ["d"], ["e", "f", "g"]], ["negative", "positive"] * 2)
    path = tmp_path / "shout.skops"
    save_model(pipeline, path, {"labels": ["negative", "positive"], "preprocess": {}})
    code = main(["explain", "--model", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "does not trust" in captured.err
    assert "Traceback" not in captured.err


def test_offset_svm_shifts_decisions(tiny_project):
    from seatcast.config import FeatureSettings
    from seatcast.features import build_features
    from seatcast.model import OffsetLinearSVC

    lines = (tiny_project / "data" / "train.tsv").read_text(encoding="utf-8").splitlines()
    documents = [clean(line.split("\t", 2)[2]) for line in lines]
    labels = [line.split("\t", 2)[1] for line in lines]
    x = build_features(FeatureSettings()).fit_transform(documents)
    plain = LinearSVC(C=0.5, random_state=1).fit(x, labels)
    shifted = OffsetLinearSVC(C=0.5, random_state=1, class_offsets={"negative": 0.4}).fit(x, labels)
    np.testing.assert_allclose(
        shifted.decision_function(x), plain.decision_function(x) + np.array([0.4, 0, 0])
    )
    decisions = shifted.decision_function(x)
    assert list(shifted.predict(x)) == list(shifted.classes_[decisions.argmax(axis=1)])
    binary = [label for label in labels if label != "neutral"]
    rows = [i for i, label in enumerate(labels) if label != "neutral"]
    plain = LinearSVC(C=0.5, random_state=1).fit(x[rows], binary)
    shifted = OffsetLinearSVC(C=0.5, random_state=1, class_offsets={"negative": 0.25}).fit(
        x[rows], binary
    )
    np.testing.assert_allclose(
        shifted.decision_function(x[rows]), plain.decision_function(x[rows]) - 0.25
    )


def test_offset_model_loads_with_trusted_types(tiny_project, tmp_path):
    from pydantic import Field

    from seatcast.config import FeatureSettings, ModelSettings
    from seatcast.model import build_pipeline

    class OffsetSettings(ModelSettings):
        """Stand-in for a config schema that has `class_offsets`."""

        class_offsets: dict[str, float] = Field(default_factory=dict)

    settings = OffsetSettings(C=0.5, class_offsets={"negative": 0.3})
    pipeline = build_pipeline(FeatureSettings(char_ngram_range=[3, 5]), settings, seed=1)
    assert type(pipeline.named_steps["svm"]).__name__ == "OffsetLinearSVC"
    lines = (tiny_project / "data" / "train.tsv").read_text(encoding="utf-8").splitlines()
    pipeline.fit(
        [clean(line.split("\t", 2)[2]) for line in lines],
        [line.split("\t", 2)[1] for line in lines],
    )
    path = tmp_path / "offsets.skops"
    save_model(pipeline, path, {"labels": MODES["3class"], "preprocess": {}, "calibrated": False})
    model = load_model(path)
    assert model.pipeline.named_steps["svm"].class_offsets == {"negative": 0.3}
    assert (
        build_pipeline(FeatureSettings(), ModelSettings(), seed=1).named_steps["svm"].__class__
        is LinearSVC
    )
