"""Measure seatcast's throughput and memory against NLTK's TweetTokenizer and VADER.

One run of this script:

1. builds a corpus of ``--tweets`` tweets (default 1,000,000) by resampling, with a fixed
   seed, the real tweets shipped in data/semeval2017, data/india2019 and data/twitter_samples;
2. times NLTK's TweetTokenizer in a one-process loop over a subsample held in memory;
3. runs ``seatcast preprocess`` on the whole corpus at 1 and 2 jobs, ``--repeats`` times each
   (default 5), alternating, and once each on its first 100,000 rows, as separate commands
   with start-up and file I/O included. The ratios use the median run of each. It checks
   that every run writes the same bytes and records each command's peak memory;
4. sweeps ``--chunk-size`` for ``seatcast preprocess`` at 2 jobs on a smaller corpus;
5. runs ``seatcast predict`` with the binary model over the whole corpus, and times VADER's
   ``polarity_scores`` in a one-process loop over a subsample;
6. writes the figures, the ratios against the targets and a description of the machine to
   docs/benchmarks.md, between the ``bench:start`` and ``bench:end`` markers.

Peak memory is the largest sum of the resident set sizes (RSS) of a command and all its child
processes, sampled every 50 ms with psutil. Pages that forked workers share with their parent
count once per process, so the figure is an upper bound.

Run it with ``make bench`` or ``python benchmarks/bench.py``; ``--help`` lists the options.
Timings on a machine that is busy with other work are slower and noisier: the load average
before each command is recorded beside its figure.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path

import psutil

from seatcast.config import SourceSpec
from seatcast.io import RowLedger, read_rows

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"

# The real tweets the corpus is resampled from: (file, read options).
SOURCES = [
    *(
        (path.relative_to(ROOT).as_posix(), {"format": "semeval"})
        for path in sorted((ROOT / "data" / "semeval2017").glob("*.txt.gz"))
    ),
    ("data/india2019/2019_bjp.csv.gz", {"text_column": "tweets"}),
    ("data/india2019/2019_congress.csv.gz", {"text_column": "tweets"}),
    (
        "data/twitter_samples/positive_tweets.txt.gz",
        {"format": "fields", "columns": ["text", "label"]},
    ),
    (
        "data/twitter_samples/negative_tweets.txt.gz",
        {"format": "fields", "columns": ["text", "label"]},
    ),
]

DEFAULT_MODEL = ROOT / "models" / "train.skops"
SMALL_CORPUS = 100_000
SEED = 2019
# Tweets per chunk for the cold-cache measurement of the JSON Lines worker (the default chunk size).
COLD_CHUNK = 2_000
SAMPLE_INTERVAL_SECONDS = 0.05

# Targets, as ratios measured in one run on one machine.
TARGET_PREPROCESS_VS_TWEET_TOKENIZER = 10.0
TARGET_TWO_JOBS_VS_ONE = 1.7
TARGET_RSS_1M_VS_100K = 1.5
TARGET_PREDICT_VS_VADER = 2.0


# ---------------------------------------------------------------------------------------------
# Corpus


def load_source_tweets() -> list[str]:
    """Read every usable tweet of the shipped sources with seatcast's own readers."""
    texts: list[str] = []
    for path, options in SOURCES:
        ledger = RowLedger()
        spec = SourceSpec(path=path, **options)
        texts.extend(
            text for _, text, _, _ in read_rows(spec, root=ROOT, ledger=ledger, labelled=False)
        )
    return texts


def write_corpus(path: Path, texts: list[str], count: int, seed: int) -> None:
    """Write ``count`` tweets drawn with replacement from ``texts`` as CSV (id, text).

    Rows end in CRLF, the csv module's default, because then a field with a bare carriage
    return is quoted too and reads back as one field.
    """
    generator = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        batch = []
        for i in range(count):
            batch.append((i, texts[generator.randrange(len(texts))]))
            if len(batch) == 10_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)


def head_rows(source: Path, target: Path, count: int) -> None:
    """Copy the header and the first ``count`` rows of a CSV file."""
    with (
        open(source, encoding="utf-8", newline="") as handle,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        reader = csv.reader(handle)
        writer = csv.writer(out)
        writer.writerow(next(reader))
        for _, row in zip(range(count), reader, strict=False):
            writer.writerow(row)


def sample_texts(path: Path, count: int) -> list[str]:
    """Return the texts of the first ``count`` rows of a corpus CSV."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [row[1] for _, row in zip(range(count), reader, strict=False)]


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Measurement:
    """One timed command or loop."""

    name: str
    tweets: int
    seconds: float
    peak_rss_bytes: int | None = None
    peak_process_rss_bytes: int | None = None
    cpu_seconds: float | None = None
    load_before: float = 0.0
    command: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def rate(self) -> float:
        """Tweets per second of wall-clock time."""
        return self.tweets / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Tweets per CPU second, which other work on the machine affects less."""
        return self.tweets / self.cpu_seconds


class TreeMemorySampler(threading.Thread):
    """Sample the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_total = 0
        self.peak_single = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    rss = process.memory_info().rss
                except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)
            self._stop_event.wait(SAMPLE_INTERVAL_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_command(
    name: str, command: list[str], tweets: int, cwd: Path, note: str = ""
) -> Measurement:
    """Run a command, and return its wall time, CPU time and peak memory."""
    load = os.getloadavg()[0]
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = TreeMemorySampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    after = os.times()
    if process.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {process.returncode}:\n{stdout}\n{stderr}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return Measurement(
        name=name,
        tweets=tweets,
        seconds=seconds,
        peak_rss_bytes=sampler.peak_total,
        peak_process_rss_bytes=sampler.peak_single,
        cpu_seconds=cpu,
        load_before=load,
        command=command,
        note=note,
    )


def time_loop(name: str, function, texts: list[str], note: str) -> Measurement:
    """Time ``function`` over every text in this process."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    cpu_started = time.process_time()
    for text in texts:
        function(text)
    return Measurement(
        name=name,
        tweets=len(texts),
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        load_before=load,
        note=note,
    )


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seatcast_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "seatcast", "-q", *arguments]


# ---------------------------------------------------------------------------------------------
# The benchmark steps


def measure_tweet_tokenizer(texts: list[str]) -> list[Measurement]:
    from nltk.tokenize import TweetTokenizer

    plain = TweetTokenizer()
    matching = TweetTokenizer(preserve_case=False, reduce_len=True)
    return [
        time_loop(
            "NLTK TweetTokenizer(), one-process loop",
            plain.tokenize,
            texts,
            "default options: keeps case",
        ),
        time_loop(
            "NLTK TweetTokenizer(preserve_case=False, reduce_len=True), one-process loop",
            matching.tokenize,
            texts,
            "lower-cases and shortens letter runs, as seatcast's default cleaning does",
        ),
    ]


def measure_clean_loop(texts: list[str]) -> Measurement:
    from seatcast.config import PreprocessSettings
    from seatcast.dataset import clean_options
    from seatcast.preprocess import clean

    options = clean_options(PreprocessSettings())
    return time_loop(
        "seatcast clean() with default options, one-process loop",
        lambda text: clean(text, options),
        texts,
        "the tokenizer alone, measured like the TweetTokenizer loops",
    )


def measure_cold_chunks(texts: list[str]) -> Measurement:
    """Time the JSON Lines worker over tweets seen once, starting from empty unit caches."""
    from seatcast.config import PreprocessSettings
    from seatcast.corpus import clean_to_jsonl
    from seatcast.dataset import clean_options
    from seatcast.units import clear_caches

    options = clean_options(PreprocessSettings())
    chunks = [texts[start : start + COLD_CHUNK] for start in range(0, len(texts), COLD_CHUNK)]
    clear_caches()
    measurement = time_loop(
        f"seatcast clean_to_jsonl in chunks of {COLD_CHUNK:,}, distinct tweets, cold cache",
        lambda chunk: clean_to_jsonl((range(len(chunk)), chunk), options),
        chunks,
        "each distinct source tweet once, so few units are already in the cache",
    )
    clear_caches()
    measurement.tweets = len(texts)
    return measurement


def measure_vader(texts: list[str]) -> Measurement:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return time_loop(
        "VADER polarity_scores, one-process loop",
        analyzer.polarity_scores,
        texts,
        "vaderSentiment's SentimentIntensityAnalyzer, one call per tweet",
    )


def measure_preprocess(
    work: Path, corpus: Path, small: Path, tweets: int, small_tweets: int, repeats: int
) -> dict:
    """Run preprocess on the whole corpus ``repeats`` times at 1 and at 2 jobs, alternating,
    and once on the small corpus at each."""
    runs = {}
    repeated: dict[str, list[Measurement]] = {"1": [], "2": []}
    digests = set()
    for repeat in range(1, repeats + 1):
        for jobs in (1, 2):
            output = work / f"tokens-{jobs}job.jsonl"
            repeated[str(jobs)].append(
                run_command(
                    f"seatcast preprocess, {jobs} job{'s' if jobs > 1 else ''}, {tweets:,} "
                    f"tweets, run {repeat} of {repeats}",
                    seatcast_command(
                        "preprocess", str(corpus), "-o", str(output), "--jobs", str(jobs)
                    ),
                    tweets,
                    work,
                )
            )
            digests.add(file_digest(output))
    for jobs, measurements in repeated.items():
        median = sorted(measurements, key=lambda m: m.seconds)[len(measurements) // 2]
        runs[f"full_{jobs}"] = replace(
            median,
            name=f"seatcast preprocess, {jobs} job{'s' if jobs != '1' else ''}, {tweets:,} "
            f"tweets, median of {len(measurements)} runs",
        )
    for jobs in (1, 2):
        output = work / f"tokens-small-{jobs}job.jsonl"
        runs[f"small_{jobs}"] = run_command(
            f"seatcast preprocess, {jobs} job{'s' if jobs > 1 else ''}, {small_tweets:,} tweets",
            seatcast_command("preprocess", str(small), "-o", str(output), "--jobs", str(jobs)),
            small_tweets,
            work,
        )
    return {"runs": runs, "identical": len(digests) == 1, "repeats": repeated}


def measure_chunk_sizes(
    work: Path, corpus: Path, tweets: int, sizes: list[int]
) -> list[Measurement]:
    results = []
    for size in sizes:
        results.append(
            run_command(
                f"seatcast preprocess, 2 jobs, --chunk-size {size}",
                seatcast_command(
                    "preprocess",
                    str(corpus),
                    "-o",
                    str(work / "sweep.jsonl"),
                    "--jobs",
                    "2",
                    "--chunk-size",
                    str(size),
                ),
                tweets,
                work,
                note=str(size),
            )
        )
    return results


PREDICT_CONFIG = """\
# Written by benchmarks/bench.py. Every tweet is classified: resampling repeats tweets, so
# duplicate removal is off, and retweets are kept, so that the count of tweets classified is
# the corpus size. The corpus has no dates, so there are no time windows for sub-events.
name: bench
model: {model}
corpus:
  - {{path: {first}, party: A}}
  - {{path: {second}, party: B}}
parties:
  - {{name: A, keywords: [BJP, Modi]}}
  - {{name: B, keywords: [Congress, Rahul Gandhi]}}
attribution: {{by: source}}
cleaning: {{drop_retweets: false, duplicates: keep}}
seats: {{total: 543, rule: hamilton}}
subevents: {{enabled: false}}
run: {{jobs: {jobs}}}
"""


def split_corpus(corpus: Path, first: Path, second: Path, tweets: int) -> None:
    """Split a corpus CSV into two halves with the same header."""
    half = tweets // 2
    with open(corpus, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for target, count in ((first, half), (second, tweets - half)):
            with open(target, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                for _, row in zip(range(count), reader, strict=False):
                    writer.writerow(row)


def ensure_model(model: Path) -> None:
    """Train the default model when ``model`` is missing or no longer loads."""
    from seatcast.errors import ModelError
    from seatcast.model import load_model

    try:
        load_model(model)
        return
    except ModelError as error:
        if model != DEFAULT_MODEL:
            raise SystemExit(f"{error}\nGive a model that loads, or leave out --model.") from None
        print(f"{error}\nTraining the model with configs/train.yaml first (not timed)", flush=True)
    subprocess.run(
        [sys.executable, "-m", "seatcast", "-q", "train", "--config", "configs/train.yaml"],
        cwd=ROOT,
        check=True,
    )


def predict_arguments(work: Path, corpus: Path, tweets: int, model: Path, jobs: int) -> list[str]:
    """Split the corpus in two party files once, write a predict config for ``jobs`` workers,
    and return the ``seatcast predict`` arguments that run it."""
    first, second = work / "predict-a.csv", work / "predict-b.csv"
    if not first.exists():
        split_corpus(corpus, first, second, tweets)
    config = work / "configs" / f"bench-{jobs}.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        PREDICT_CONFIG.format(model=model, first=first, second=second, jobs=jobs),
        encoding="utf-8",
    )
    return ["predict", "--config", str(config), "--reports-dir", str(work / "reports")]


def measure_predict(
    work: Path, corpus: Path, tweets: int, model: Path, jobs_list: list[int]
) -> list[Measurement]:
    results = []
    for jobs, resamples in [(jobs, None) for jobs in jobs_list] + [(max(jobs_list), 0)]:
        arguments = predict_arguments(work, corpus, tweets, model, jobs)
        name = f"seatcast predict, {jobs} job{'s' if jobs > 1 else ''}, {tweets:,} tweets"
        if resamples is not None:
            arguments += ["--resamples", str(resamples)]
            name += ", no bootstrap"
        results.append(run_command(name, seatcast_command(*arguments), tweets, work))
    return results


def measure_predict_chunk_sizes(
    work: Path, corpus: Path, tweets: int, model: Path, sizes: list[int]
) -> list[Measurement]:
    """Time ``seatcast predict --jobs 2`` over the whole corpus for each chunk size."""
    results = []
    for size in sizes:
        arguments = predict_arguments(work, corpus, tweets, model, 2)
        arguments += ["--chunk-size", str(size)]
        name = f"seatcast predict, 2 jobs, --chunk-size {size}"
        command = seatcast_command(*arguments)
        results.append(run_command(name, command, tweets, work, note=str(size)))
    return results


# ---------------------------------------------------------------------------------------------
# Report


def machine_description() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in (
        "seatcast",
        "scikit-learn",
        "numpy",
        "scipy",
        "nltk",
        "vaderSentiment",
        "dask",
        "distributed",
        "psutil",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": str(
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
        "memory": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": ", ".join(f"{name} {version}" for name, version in versions.items()),
    }


def megabytes(value: int | None) -> str:
    return "" if value is None else f"{value / 1024**2:,.0f}"


def table_row(measurement: Measurement) -> str:
    return (
        f"| {measurement.name} | {measurement.tweets:,} | {measurement.seconds:,.1f} | "
        f"{measurement.rate:,.0f} | {measurement.cpu_seconds:,.1f} | "
        f"{measurement.cpu_rate:,.0f} | {megabytes(measurement.peak_rss_bytes)} | "
        f"{measurement.load_before:.2f} |"
    )


def cpu_ratio(command: Measurement, loop: Measurement) -> str:
    """Compare a command with a one-process loop by CPU time, over the cores it may use."""
    if ", 1 job" in command.name:
        return f"{command.cpu_rate / loop.cpu_rate:.2f}×"
    jobs = int(command.name.split(", ")[1].split()[0])
    return f"≤ {jobs * command.cpu_rate / loop.cpu_rate:.2f}×"


def verdict(value: float, target: float, higher: bool = True) -> str:
    met = value >= target if higher else value <= target
    return "met" if met else "**missed**"


def render(results: dict) -> str:
    machine = results["machine"]
    preprocess = results["preprocess"]["runs"]
    tokenizers = results["tweet_tokenizer"]
    baseline = tokenizers[1]
    one, two = preprocess["full_1"], preprocess["full_2"]
    small_two, small_one = preprocess["small_2"], preprocess["small_1"]
    vader = results["vader"]
    predicts = results["predict"]
    with_bootstrap = [m for m in predicts if "no bootstrap" not in m.name]
    predict_default = next((m for m in with_bootstrap if ", 2 jobs" in m.name), with_bootstrap[-1])

    ratio_tokenizer = one.rate / baseline.rate
    ratio_tokenizer_plain = one.rate / tokenizers[0].rate
    ratio_jobs = two.rate / one.rate
    ratio_rss_two = two.peak_rss_bytes / small_two.peak_rss_bytes
    ratio_rss_one = one.peak_rss_bytes / small_one.peak_rss_bytes
    ratio_vader = predict_default.rate / vader.rate

    lines = [
        START_MARKER,
        f"Run on {results['date']} by `benchmarks/bench.py` "
        f"({results['seconds_total']:,.0f} s in all).",
        "",
        "| Machine | |",
        "| --- | --- |",
        f"| CPU | {machine['cpu']} |",
        f"| Cores available | {machine['cores']} |",
        f"| Memory | {machine['memory']} |",
        f"| System | {machine['system']} |",
        f"| Python | {machine['python']} |",
        f"| Libraries | {machine['versions']} |",
        "",
        f"Corpus: {results['tweets']:,} tweets resampled with replacement (seed {SEED}) from "
        f"{results['distinct_tweets']:,} real tweets in data/semeval2017, data/india2019 and "
        f"data/twitter_samples; CSV, {results['corpus_bytes'] / 1024**2:,.0f} MiB. The baselines "
        f"run over its first {results['sample']:,} tweets, held in memory.",
        "",
        "| Measurement | Tweets | Wall s | Tweets/s | CPU s | Tweets/CPU s | Peak RSS MiB | "
        "Load before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            table_row(m)
            for m in (
                *tokenizers,
                results["clean_loop"],
                *([results["cold_chunks"]] if results.get("cold_chunks") else []),
                one,
                two,
                small_one,
                small_two,
                vader,
                *predicts,
            )
        ),
        "",
        "Commands run as separate processes, timed from start to exit (Python start-up, imports, "
        "reading and writing included). CPU s is user plus system time of the command and its "
        "workers. Peak RSS sums the command and its workers (an upper bound; see the method "
        "above). Loops run in the benchmark process, over texts already in memory. predict "
        "uses the binary model, writes predictions.csv.gz and, unless marked otherwise, draws "
        "1,000 bootstrap resamples (the default); the corpus is split into two files of one "
        "party each.",
        "",
        "The ratios below use wall-clock time, as the targets are stated. The last column "
        "gives the same ratio from CPU time, which depends less on other work on the machine. "
        "For one-process runs it is the ratio of tweets per CPU second. For 2 jobs on 2 cores "
        "it assumes the CPU time spreads evenly over both, so it is an upper bound.",
        "",
        "| Target | Wall-clock | Result | From CPU time |",
        "| --- | ---: | --- | ---: |",
        f"| preprocess at 1 job ≥ {TARGET_PREPROCESS_VS_TWEET_TOKENIZER:g}× the TweetTokenizer "
        f"loop with the same case and length options | {ratio_tokenizer:.1f}× | "
        f"{verdict(ratio_tokenizer, TARGET_PREPROCESS_VS_TWEET_TOKENIZER)} | "
        f"{one.cpu_rate / baseline.cpu_rate:.1f}× |",
        f"| (for reference: against `TweetTokenizer()` with default options) | "
        f"{ratio_tokenizer_plain:.1f}× | | {one.cpu_rate / tokenizers[0].cpu_rate:.1f}× |",
        f"| (for reference: seatcast `clean()` loop against the matching TweetTokenizer loop) | "
        f"{results['clean_loop'].rate / baseline.rate:.1f}× | | "
        f"{results['clean_loop'].cpu_rate / baseline.cpu_rate:.1f}× |",
        *(
            [
                "| (for reference: the JSON Lines worker on each distinct tweet once, cold cache, "
                f"against the matching TweetTokenizer loop) | "
                f"{results['cold_chunks'].rate / baseline.rate:.1f}× | | "
                f"{results['cold_chunks'].cpu_rate / baseline.cpu_rate:.1f}× |"
            ]
            if results.get("cold_chunks")
            else []
        ),
        f"| preprocess at 2 jobs ≥ {TARGET_TWO_JOBS_VS_ONE:g}× 1 job | {ratio_jobs:.2f}× | "
        f"{verdict(ratio_jobs, TARGET_TWO_JOBS_VS_ONE)} | "
        f"≤ {2 * one.cpu_seconds / two.cpu_seconds:.2f}× |",
        f"| 1 and 2 jobs write byte-identical output | "
        f"{'yes' if results['preprocess']['identical'] else 'no'} | "
        f"{'met' if results['preprocess']['identical'] else '**missed**'} | |",
        f"| peak RSS at {results['tweets']:,} ≤ {TARGET_RSS_1M_VS_100K:g}× at "
        f"{results['small_tweets']:,} tweets, 2 jobs | {ratio_rss_two:.2f}× | "
        f"{verdict(ratio_rss_two, TARGET_RSS_1M_VS_100K, higher=False)} | |",
        f"| the same at 1 job | {ratio_rss_one:.2f}× | "
        f"{verdict(ratio_rss_one, TARGET_RSS_1M_VS_100K, higher=False)} | |",
        f"| predict ({predict_default.name.split(', ')[1]}) ≥ {TARGET_PREDICT_VS_VADER:g}× VADER "
        f"| {ratio_vader:.2f}× | {verdict(ratio_vader, TARGET_PREDICT_VS_VADER)} | "
        f"{cpu_ratio(predict_default, vader):} |",
    ]
    if len(predicts) > 1:
        for measurement in predicts:
            if measurement is not predict_default:
                lines.append(
                    f"| (for reference: {measurement.name.split(', ', 1)[1]}, against VADER) "
                    f"| {measurement.rate / vader.rate:.2f}× | | {cpu_ratio(measurement, vader)} |"
                )
    lines += ["", *repeats_table(results["preprocess"].get("repeats") or {})]
    sweeps = (
        ("chunk_sweep", "`seatcast preprocess --jobs 2`"),
        ("predict_chunk_sweep", "`seatcast predict --jobs 2` (with the bootstrap)"),
    )
    for key, command in sweeps:
        sweep = results.get(key) or []
        if sweep:
            lines += ["", *sweep_table(sweep, command)]
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"


def repeats_table(repeated: dict[str, list[Measurement]]) -> list[str]:
    """Return the lines of the table of every whole-corpus preprocess run."""
    ones, twos = repeated.get("1", []), repeated.get("2", [])
    if not ones or len(ones) != len(twos):
        return []
    return [
        f"Every run of `seatcast preprocess` on the whole corpus, in the order run (1 job, then "
        f"2 jobs, {len(ones)} times). The tables above use the median run of each.",
        "",
        "| Run | 1 job wall s | 1 job CPU s | 2 jobs wall s | 2 jobs CPU s | 2 jobs / 1 job | "
        "Load before |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {number} | {one.seconds:,.2f} | {one.cpu_seconds:,.2f} | {two.seconds:,.2f} | "
            f"{two.cpu_seconds:,.2f} | {one.seconds / two.seconds:.2f}× | "
            f"{one.load_before:.2f}, {two.load_before:.2f} |"
            for number, (one, two) in enumerate(zip(ones, twos, strict=True), start=1)
        ),
    ]


def sweep_table(sweep: list[Measurement], command: str) -> list[str]:
    """Return the lines of one chunk-size sweep table."""
    best = max(m.rate for m in sweep)
    return [
        f"Chunk size sweep: {command} on {sweep[0].tweets:,} tweets of the same corpus.",
        "",
        "| --chunk-size | Wall s | Tweets/s | Share of best | CPU s | Peak RSS MiB | Load before |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {m.note} | {m.seconds:,.1f} | {m.rate:,.0f} | {m.rate / best:.0%} | "
            f"{m.cpu_seconds:,.2f} | {megabytes(m.peak_rss_bytes)} | {m.load_before:.2f} |"
            for m in sweep
        ),
    ]


DOC_HEADER = """\
# Benchmarks

`make bench` (or `python benchmarks/bench.py`) measures seatcast on a resampled corpus of real
tweets and rewrites the section between the markers below. See the docstring of
benchmarks/bench.py for the method.

"""


def write_doc(section: str) -> None:
    text = (
        DOC.read_text(encoding="utf-8")
        if DOC.exists()
        else DOC_HEADER + START_MARKER + "\n" + END_MARKER + "\n"
    )
    if START_MARKER not in text or END_MARKER not in text:
        text = text.rstrip("\n") + "\n\n" + START_MARKER + "\n" + END_MARKER + "\n"
    before = text[: text.index(START_MARKER)]
    after = text[text.index(END_MARKER) + len(END_MARKER) :].lstrip("\n")
    DOC.write_text(before + section + ("\n" + after if after else ""), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Main


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tweets", type=int, default=1_000_000, help="corpus size (default: 1,000,000)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=100_000,
        help="tweets the in-memory baseline loops run over (default: 100,000)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        help="runs of preprocess at 1 and at 2 jobs on the whole corpus, alternating; the "
        "ratios use the median run of each (default: 5)",
    )
    parser.add_argument(
        "--sweep-tweets",
        type=int,
        default=200_000,
        help="corpus size of the chunk-size sweep (default: 200,000)",
    )
    parser.add_argument(
        "--chunk-sizes",
        default="250,500,1000,2000,5000,10000,20000",
        help="comma-separated chunk sizes to sweep; empty skips the sweep",
    )
    parser.add_argument(
        "--predict-chunk-sizes",
        default="2000,5000,10000,20000",
        help="comma-separated chunk sizes for `predict --jobs 2` over the whole corpus; empty "
        "skips this sweep",
    )
    parser.add_argument(
        "--predict-jobs",
        default="1,2",
        help="comma-separated job counts for predict (default: 1,2)",
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model for predict")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where corpora and outputs go (default: a temp dir)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="measure nothing: write the doc from a results.json of an earlier run",
    )
    parser.add_argument(
        "--no-doc",
        action="store_true",
        help="print the results instead of writing docs/benchmarks.md",
    )
    return parser.parse_args(argv)


def load_results(path: Path) -> dict:
    """Read a results.json written by an earlier run back into measurements."""
    raw = json.loads(path.read_text(encoding="utf-8"))

    def measurement(value: dict) -> Measurement:
        return Measurement(**value)

    raw["tweet_tokenizer"] = [measurement(m) for m in raw["tweet_tokenizer"]]
    raw["clean_loop"] = measurement(raw["clean_loop"])
    if raw.get("cold_chunks"):
        raw["cold_chunks"] = measurement(raw["cold_chunks"])
    raw["preprocess"]["runs"] = {k: measurement(m) for k, m in raw["preprocess"]["runs"].items()}
    raw["preprocess"]["repeats"] = {
        jobs: [measurement(m) for m in runs]
        for jobs, runs in raw["preprocess"].get("repeats", {}).items()
    }
    raw["chunk_sweep"] = [measurement(m) for m in raw.get("chunk_sweep", [])]
    raw["predict_chunk_sweep"] = [measurement(m) for m in raw.get("predict_chunk_sweep", [])]
    raw["vader"] = measurement(raw["vader"])
    raw["predict"] = [measurement(m) for m in raw["predict"]]
    return raw


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        write_doc(render(load_results(args.render)))
        print(f"wrote {DOC}")
        return 0
    began = time.perf_counter()
    temporary = None
    if args.work_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="seatcast-bench-")
        work = Path(temporary.name)
    else:
        work = args.work_dir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"work dir: {work}", flush=True)
        texts = load_source_tweets()
        corpus = work / "corpus.csv"
        write_corpus(corpus, texts, args.tweets, SEED)
        small_tweets = min(SMALL_CORPUS, args.tweets)
        small = work / "corpus-small.csv"
        head_rows(corpus, small, small_tweets)
        sample = sample_texts(corpus, min(args.sample, args.tweets))
        print(
            f"corpus: {args.tweets:,} tweets from {len(texts):,} distinct real tweets", flush=True
        )

        results: dict = {
            "date": dt.date.today().isoformat(),
            "machine": machine_description(),
            "tweets": args.tweets,
            "small_tweets": small_tweets,
            "sample": len(sample),
            "distinct_tweets": len(texts),
            "corpus_bytes": corpus.stat().st_size,
        }
        results["tweet_tokenizer"] = measure_tweet_tokenizer(sample)
        results["clean_loop"] = measure_clean_loop(sample)
        results["cold_chunks"] = measure_cold_chunks(texts)
        print("tokenizer loops done", flush=True)
        results["preprocess"] = measure_preprocess(
            work, corpus, small, args.tweets, small_tweets, args.repeats
        )
        print("preprocess done", flush=True)
        sizes = [int(size) for size in args.chunk_sizes.split(",") if size.strip()]
        if sizes:
            sweep_corpus = work / "corpus-sweep.csv"
            sweep_tweets = min(args.sweep_tweets, args.tweets)
            head_rows(corpus, sweep_corpus, sweep_tweets)
            results["chunk_sweep"] = measure_chunk_sizes(work, sweep_corpus, sweep_tweets, sizes)
            print("chunk-size sweep done", flush=True)
        results["vader"] = measure_vader(sample)
        print("VADER done", flush=True)
        ensure_model(args.model)
        jobs_list = [int(jobs) for jobs in args.predict_jobs.split(",") if jobs.strip()]
        results["predict"] = measure_predict(
            work, corpus, args.tweets, args.model.resolve(), jobs_list
        )
        print("predict done", flush=True)
        sizes = [int(size) for size in args.predict_chunk_sizes.split(",") if size.strip()]
        if sizes:
            results["predict_chunk_sweep"] = measure_predict_chunk_sizes(
                work, corpus, args.tweets, args.model.resolve(), sizes
            )
            print("predict chunk-size sweep done", flush=True)
        results["seconds_total"] = time.perf_counter() - began

        section = render(results)
        raw = json.dumps(
            results,
            default=lambda value: asdict(value) if isinstance(value, Measurement) else str(value),
            indent=2,
        )
        (work / "results.json").write_text(raw, encoding="utf-8")
        if args.no_doc:
            print(section)
        else:
            write_doc(section)
            print(section)
            print(f"wrote {DOC}")
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
