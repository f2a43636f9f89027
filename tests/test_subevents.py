"""Tests for seatcast.subevents on real election tweets."""

import pandas as pd
import pytest

from seatcast.cli import main
from seatcast.config import SubeventSettings
from seatcast.errors import ConfigError, DataError
from seatcast.subevents import SUBEVENT_COLUMNS, discover_subevents, load_classified_tweets

from .conftest import DATA


@pytest.fixture(scope="module")
def real_tweets():
    """The first 900 tweets of each India file, with their real dates and parties, and a
    fixed label pattern (labels are not what this module tests)."""
    frames = []
    for name, party in (("2019_bjp.csv.gz", "BJP"), ("2019_congress.csv.gz", "INC")):
        frame = pd.read_csv(DATA / "india2019" / name, nrows=900)
        frames.append(
            pd.DataFrame(
                {
                    "text": frame["tweets"],
                    "date": pd.to_datetime(frame["dates"], format="mixed", utc=True),
                    "parties": [(party,)] * len(frame),
                }
            )
        )
    tweets = pd.concat(frames, ignore_index=True)
    tweets["label"] = ["positive" if i % 3 else "negative" for i in range(len(tweets))]
    return tweets


def test_topics_per_window_on_real_tweets(real_tweets):
    settings = SubeventSettings(window="1D", n_topics=4, top_terms=6, min_tweets=60)
    result = discover_subevents(real_tweets, ["BJP", "INC"], settings)
    table = result.table
    assert list(table.columns) == SUBEVENT_COLUMNS
    assert table["window"].nunique() >= 5
    topics = table.drop_duplicates(["window", "topic"])
    assert (topics.groupby("window")["topic"].count() <= 4).all()
    assert (topics["top_terms"].str.split().map(len) == 6).all()
    sizes = topics.groupby("window")["topic_tweets"].sum()
    totals = topics.groupby("window")["window_tweets"].first()
    assert (sizes <= totals).all()
    # Every tweet here has one party, so party rows add up to the topic size.
    by_topic = table.groupby(["window", "topic"])
    assert (by_topic["n_tweets"].sum() == by_topic["topic_tweets"].first()).all()
    assert ((table["n_positive"] + table["n_negative"]) == table["n_tweets"]).all()
    # The BJP and Congress hashtags of the corpus show up among the terms.
    terms = " ".join(topics["top_terms"])
    assert "#bjp" in terms
    assert "#congress" in terms or "#rahulgandhi" in terms


def test_windows_below_min_tweets_are_not_fitted(real_tweets):
    settings = SubeventSettings(window="1D", n_topics=3, min_tweets=10_000)
    result = discover_subevents(real_tweets, ["BJP", "INC"], settings)
    assert result.table.empty
    assert not result.windows["topics_fitted"].any()
    assert result.windows.groupby("window")["n_tweets"].sum().sum() == len(real_tweets)


def test_same_topics_every_run(real_tweets):
    settings = SubeventSettings(window="2D", n_topics=3, min_tweets=50)
    first = discover_subevents(real_tweets, ["BJP", "INC"], settings).table
    second = discover_subevents(real_tweets, ["BJP", "INC"], settings).table
    pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize("window", ["1M", "often", "0h"])
def test_invalid_window_rejected(real_tweets, window):
    with pytest.raises(ConfigError, match=r"`subevents\.window` must be a fixed-length"):
        discover_subevents(real_tweets, ["BJP"], SubeventSettings(window=window))


@pytest.mark.slow
def test_predict_writes_subevents(tiny_project, tmp_path):
    if not (tiny_project / "models" / "tiny.skops").is_file():
        assert main(["-q", "train", "--config", str(tiny_project / "configs" / "tiny.yaml")]) == 0
    source = (tiny_project / "configs" / "elections" / "tiny2019.yaml").read_text()
    config = tiny_project / "configs" / "elections" / "tinytopics.yaml"
    config.write_text(
        source + "subevents: {enabled: true, window: 1D, n_topics: 3, min_tweets: 20}\n"
    )
    reports = tmp_path / "reports"
    assert main(["-q", "predict", "--config", str(config), "--reports-dir", str(reports)]) == 0
    report = reports / "tinytopics"
    table = pd.read_csv(report / "subevents.csv")
    assert not table.empty
    assert set(table["party"]) == {"BJP", "INC"}
    predictions = pd.read_csv(report / "predictions.csv.gz")
    windows = pd.read_csv(report / "subevents_windows.csv")
    assert windows["n_tweets"].sum() == len(predictions)
    assert (report / "subevents.png").read_bytes()[:4] == b"\x89PNG"
    assert "topic" in (report / "subevents.md").read_text()
    # The standalone command reads the same predictions and writes the same table.
    again = tmp_path / "again"
    (again / "tinytopics").mkdir(parents=True)
    (again / "tinytopics" / "predictions.csv.gz").write_bytes(
        (report / "predictions.csv.gz").read_bytes()
    )
    assert main(["-q", "subevents", "--config", str(config), "--reports-dir", str(again)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again / "tinytopics" / "subevents.csv"), table)


def test_missing_predictions_rejected(tiny_project, tmp_path):
    from seatcast.config import load_election_config

    config = load_election_config(tiny_project / "configs" / "elections" / "tiny2019.yaml")
    with pytest.raises(DataError, match="run `seatcast predict` first"):
        load_classified_tweets(config, tiny_project, tmp_path / "predictions.csv.gz")
