"""Tests for seatcast.forecast: count cleaning, attribution counts and the run summary."""

import csv
import gzip
import json

import pandas as pd
import pytest

from seatcast.cli import main
from seatcast.config import load_election_config
from seatcast.errors import ConfigError
from seatcast.forecast import PREDICTION_COLUMNS, _Stream, near_duplicate_text
from seatcast.io import RowLedger

from .conftest import DATA


def copy_records(source, target, count):
    """Copy the header and the first ``count`` records of a (gzip) CSV, multi-line fields kept."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        rows = [next(reader) for _ in range(count + 1)]
    with open(target, "w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return rows


def write_config(root, body):
    path = root / "configs" / "elections" / "case.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\nname = 'case'\n", encoding="utf-8")
    return load_election_config(path)


def stream_counts(config, root):
    ledger = RowLedger()
    stream = _Stream(config, root, ledger)
    kept = [text for _, texts in stream.items() for text in texts]
    return stream, ledger, kept


GOP_CONFIG = """
corpus:
  - {path: gop.csv, text_column: text, party_column: candidate, user_column: name,
     date_column: tweet_created, label_column: sentiment}
parties:
  - {name: Trump, aliases: [Donald Trump]}
  - {name: Bush, aliases: [Jeb Bush]}
  - {name: Walker, aliases: [Scott Walker]}
  - {name: Cruz, aliases: [Ted Cruz]}
seats: {total: 10}
cleaning: {drop_retweets: DROP, duplicates: DUPLICATES}
"""


@pytest.fixture(scope="module")
def gop_sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("gop")
    rows = copy_records(DATA / "us_gop_debate_2015" / "Sentiment.csv.gz", root / "gop.csv", 600)
    return root, rows


def test_near_duplicate_text_ignores_noise():
    first = near_duplicate_text("Vote BJP!! https://t.co/abc @someone")
    second = near_duplicate_text("vote   bjp https://t.co/xyz @other")
    assert first == second == "vote bjp @user"
    assert near_duplicate_text("Rahul is trying to reverse what… https://t.co/x") == (
        "rahul is trying to reverse"
    )
    assert near_duplicate_text("मोदी जी!!") == "मोदी जी"
    assert near_duplicate_text("vote #BJP") != near_duplicate_text("vote BJP")


def test_retweets_dropped_on_real_gop_tweets(gop_sample):
    root, rows = gop_sample
    header = rows[0]
    texts = [row[header.index("text")] for row in rows[1:]]
    expected = sum(text.lstrip(" \"'").upper().startswith("RT @") for text in texts)
    assert expected > 100
    config = write_config(root, GOP_CONFIG.replace("DROP", "true").replace("DUPLICATES", "keep"))
    stream, ledger, _ = stream_counts(config, root)
    assert stream.counts.retweets == expected
    assert ledger.excluded["retweet"] == expected


def test_retweets_kept_when_off(gop_sample):
    root, _ = gop_sample
    config = write_config(root, GOP_CONFIG.replace("DROP", "false").replace("DUPLICATES", "keep"))
    stream, _, kept = stream_counts(config, root)
    assert stream.counts.retweets == 0
    assert any(text.startswith("RT @") for text in kept)


def test_party_column_attribution_counts_unmatched(gop_sample):
    root, rows = gop_sample
    header = rows[0]
    candidates = [row[header.index("candidate")] for row in rows[1:]]
    config = write_config(root, GOP_CONFIG.replace("DROP", "false").replace("DUPLICATES", "keep"))
    stream, ledger, kept = stream_counts(config, root)
    named = {"Donald Trump", "Jeb Bush", "Scott Walker", "Ted Cruz"}
    assert len(kept) == sum(candidate in named for candidate in candidates)
    assert stream.counts.unmatched == sum(candidate not in named for candidate in candidates)
    assert stream.unknown_party_values["No candidate mentioned"] > 0
    gold = [label for chunk in stream.kept for label in chunk.gold]
    assert set(gold) <= {"positive", "negative", "neutral"}
    ledger.rows_used = len(kept)
    ledger.check_balanced()


def test_user_cap_on_real_gop_tweets(gop_sample):
    root, _ = gop_sample
    body = GOP_CONFIG.replace("DROP", "false").replace("DUPLICATES", "keep")
    body = body.replace("cleaning: {", "cleaning: {max_tweets_per_user: 1, ")
    config = write_config(root, body)
    stream, _, kept = stream_counts(config, root)
    _, _, all_kept = stream_counts(
        write_config(root, GOP_CONFIG.replace("DROP", "false").replace("DUPLICATES", "keep")), root
    )
    assert stream.counts.over_user_cap > 0
    assert stream.counts.users_capped > 0
    # Capped rows are left out before attribution, so the kept rows shrink by at most that.
    assert len(all_kept) - stream.counts.over_user_cap <= len(kept) < len(all_kept)


INDIA_CONFIG = """
corpus:
  - {path: bjp.csv, text_column: tweets, date_column: dates, location_column: location, party: BJP}
  - {path: congress.csv, text_column: tweets, date_column: dates, location_column: location,
     party: INC}
parties:
  - {name: BJP, hashtags: [bjp], keywords: [Modi, मोदी]}
  - {name: INC, hashtags: [congress], keywords: [Rahul Gandhi]}
seats: {total: 542}
attribution: {by: BY, multi_party: MULTI}
cleaning: {drop_retweets: true, duplicates: DUPLICATES}
"""


@pytest.fixture(scope="module")
def india_sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("india")
    copy_records(DATA / "india2019" / "2019_bjp.csv.gz", root / "bjp.csv", 1500)
    copy_records(DATA / "india2019" / "2019_congress.csv.gz", root / "congress.csv", 1500)
    return root


def india_config(root, by="source", multi="each", duplicates="near"):
    body = INDIA_CONFIG.replace("BY", by).replace("MULTI", multi).replace("DUPLICATES", duplicates)
    return write_config(root, body)


def test_india_sample_has_no_retweets(india_sample):
    stream, _, kept = stream_counts(india_config(india_sample, duplicates="keep"), india_sample)
    assert stream.counts.retweets == 0
    assert len(kept) == 3000
    assert not any(text.lstrip().upper().startswith("RT @") for text in kept)


def test_rows_without_filters_are_kept_whole(india_sample):
    # With attribution by source and no filter, chunks are kept without a loop over rows. A
    # user cap too high to drop anything sends the same rows through the row-by-row filter.
    body = INDIA_CONFIG.replace("BY", "source").replace("MULTI", "each")
    body = body.replace("drop_retweets: true", "drop_retweets: false").replace("DUPLICATES", "keep")
    whole, _, kept_whole = stream_counts(write_config(india_sample, body), india_sample)
    capped = body.replace("drop_retweets: false", "drop_retweets: false, max_tweets_per_user: 9999")
    filtered, _, kept_filtered = stream_counts(write_config(india_sample, capped), india_sample)
    assert len(kept_whole) == 3000
    assert kept_whole == kept_filtered
    assert [vars(chunk) for chunk in whole.kept] == [vars(chunk) for chunk in filtered.kept]
    assert {chunk.parties[0] for chunk in whole.kept} == {("BJP",), ("INC",)}
    assert any(state for chunk in whole.kept for state in chunk.states)


def test_duplicates_exact_and_near(india_sample):
    frames = [pd.read_csv(india_sample / name) for name in ("bjp.csv", "congress.csv")]
    texts = pd.concat(frames)["tweets"]
    exact = int(texts.duplicated().sum())
    near = int(texts.map(near_duplicate_text).duplicated().sum())
    stream, _, kept = stream_counts(india_config(india_sample, duplicates="near"), india_sample)
    assert stream.counts.exact_duplicates == exact
    assert stream.counts.exact_duplicates + stream.counts.near_duplicates == near
    assert len(kept) == 3000 - near
    only_exact, _, kept_exact = stream_counts(
        india_config(india_sample, duplicates="exact"), india_sample
    )
    assert only_exact.counts.near_duplicates == 0
    assert len(kept_exact) == 3000 - exact


def test_keyword_attribution_multi_party(india_sample):
    each, _, kept_each = stream_counts(
        india_config(india_sample, by="keywords", multi="each"), india_sample
    )
    drop, _, kept_drop = stream_counts(
        india_config(india_sample, by="keywords", multi="drop"), india_sample
    )
    assert each.counts.multiple_counted > 0
    assert drop.counts.multiple_dropped == each.counts.multiple_counted
    assert len(kept_each) - len(kept_drop) == each.counts.multiple_counted
    assert each.counts.unmatched == drop.counts.unmatched > 0
    states = {state for chunk in each.kept for state in chunk.states}
    assert "NCT OF Delhi" in states or len(states) > 3
    dates = [date for chunk in each.kept for date in chunk.dates]
    assert all(date.startswith("2019-04-") and date.endswith("Z") for date in dates)


def test_source_without_party_rejected(india_sample):
    body = INDIA_CONFIG.replace(", party: BJP", "").replace("BY", "source")
    config = write_config(india_sample, body.replace("MULTI", "each").replace("DUPLICATES", "keep"))
    with pytest.raises(ConfigError, match="has neither `party` nor `party_column`"):
        _Stream(config, india_sample, RowLedger())


def test_party_and_party_column_together_rejected(tmp_path):
    body = GOP_CONFIG.replace("party_column: candidate", "party_column: candidate, party: Trump")
    with pytest.raises(ConfigError, match="party and party_column must not both be set"):
        write_config(tmp_path, body.replace("DROP", "true").replace("DUPLICATES", "keep"))


# --- a whole predict run --------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tiny_project):
    if not (tiny_project / "models" / "tiny.skops").is_file():
        assert main(["-q", "train", "--config", str(tiny_project / "configs" / "tiny.yaml")]) == 0
    return tiny_project


@pytest.mark.slow
def test_predict_summary_lists_cleaning_counts(trained, tmp_path, capsys):
    config = trained / "configs" / "elections" / "tiny2019.yaml"
    reports = tmp_path / "reports"
    assert main(["predict", "--config", str(config), "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    for line in (
        "retweets dropped",
        "exact duplicates dropped",
        "near duplicates dropped",
        "matching no party",
    ):
        assert line in out
    summary = json.loads((reports / "tiny2019" / "summary.json").read_text())
    cleaning = summary["cleaning"]
    assert set(cleaning) >= {
        "retweets",
        "exact_duplicates",
        "near_duplicates",
        "unmatched",
        "over_user_cap",
        "multiple_dropped",
        "multiple_counted",
    }
    assert cleaning["retweets"] == 0
    rows = summary["rows"]
    dropped = cleaning["exact_duplicates"] + cleaning["near_duplicates"]
    assert rows["rows_excluded"] == dropped + cleaning["unmatched"] + cleaning["over_user_cap"]
    predictions = pd.read_csv(reports / "tiny2019" / "predictions.csv.gz")
    assert tuple(predictions.columns) == PREDICTION_COLUMNS
    assert predictions["date"].str.match(r"2019-04-\d\dT").all()
    assert (predictions["state"] != "").all()


@pytest.mark.slow
def test_predict_with_confusion_correction(trained, tmp_path):
    matrix = tmp_path / "matrix.json"
    matrix.write_text(
        json.dumps({"labels": ["negative", "positive"], "matrix": [[70, 30], [10, 90]]})
    )
    source = (trained / "configs" / "elections" / "tiny2019.yaml").read_text()
    config = trained / "configs" / "elections" / "tiny2019_corrected.yaml"
    config.write_text(
        source.replace(
            "bootstrap: {n_resamples: 200}",
            f"bootstrap: {{n_resamples: 100, confusion_matrix: {matrix}}}",
        )
    )
    reports = tmp_path / "reports"
    assert main(["-q", "predict", "--config", str(config), "--reports-dir", str(reports)]) == 0
    table = pd.read_csv(reports / "tiny2019_corrected" / "seats.csv").set_index("party")
    tracked = table.loc[["BJP", "INC"]]
    assert tracked["seats_corrected"].sum() == 542
    assert (tracked["seats_low"] <= tracked["seats_corrected"]).all()
    assert (tracked["seats_corrected"] <= tracked["seats_high"]).all()
    summary = json.loads((reports / "tiny2019_corrected" / "summary.json").read_text())
    assert summary["confusion_correction"]["matrix"] == [[70, 30], [10, 90]]
