"""Loading and validating run configs.

A config is a YAML file that describes one run completely. There are two kinds:

* a training config (``configs/train.yaml``): the labelled data, preprocessing, features,
  model and cross-validation settings;
* an election config (``configs/elections/NAME.yaml``): the tweet corpus, the parties and how
  tweets are attributed to them, the party score, the seat rule and the actual results.

Both are checked against one schema (:class:`TrainConfig` and :class:`ElectionConfig`) when
they load. A wrong type, a value out of range, a value outside the allowed choices or an
unknown key raises :class:`~seatcast.errors.ConfigError` that names the file and the key, and
suggests the nearest valid key for a misspelt one. Relative paths in a config are resolved
against the project root, the nearest folder above the config that holds ``pyproject.toml``
or a ``configs`` folder, so that the same config works from any working directory.
"""

from __future__ import annotations

import difflib
import logging
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from seatcast.errors import ConfigError
from seatcast.parallel import MAX_JOBS

__all__ = [
    "ElectionConfig",
    "FeatureSettings",
    "ModelSettings",
    "PartySpec",
    "PreprocessSettings",
    "RunSettings",
    "SourceSpec",
    "TrainConfig",
    "find_project_root",
    "load_election_config",
    "load_train_config",
]

logger = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")

# Label spellings found in public tweet sets, mapped to our three labels. A source can add its
# own spellings with `label_map`.
DEFAULT_LABEL_MAP: dict[str, str] = {
    "positive": "positive",
    "pos": "positive",
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "objective": "neutral",
    "objective-or-neutral": "neutral",
    "1": "positive",
    "0": "neutral",
    "-1": "negative",
    "1.0": "positive",
    "0.0": "neutral",
    "-1.0": "negative",
}

PositiveInt = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


def _check_run_name(value: str) -> str:
    # A run's name becomes file and folder names (models/NAME.skops, reports/NAME/), so it
    # must not lead out of those folders.
    if value in (".", "..") or any(char in "/\\" or ord(char) < 32 for char in value):
        raise ValueError("must be a file name without / or \\ or control characters, not . or ..")
    return value


RunName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_check_run_name)]
# Tweets per chunk at most: a larger chunk only takes more memory in each worker.
MAX_CHUNK_SIZE = 1_000_000
# numpy and scikit-learn accept seeds from 0 to 2**32 - 1.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class _Section(BaseModel):
    """Base of every config section: unknown keys are errors and values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourceSpec(_Section):
    """One input file and how to read it.

    ``format`` is one of ``csv``, ``tsv``, ``jsonl``, ``semeval`` (``id<TAB>label<TAB>text``, no
    quoting) or ``fields`` (tab-separated, no quoting, with the column names in ``columns``).
    ``auto`` picks by the file name: ``.csv``, ``.tsv``, ``.jsonl``/``.json`` (``.gz`` allowed).
    """

    path: str
    format: Literal["auto", "csv", "tsv", "jsonl", "semeval", "fields"] = "auto"
    text_column: str = "text"
    label_column: str | None = None
    columns: list[str] | None = None
    label_map: dict[str, str] = Field(default_factory=dict)
    encoding: str = "utf-8"
    party: str | None = None
    party_column: str | None = None
    date_column: str | None = None
    user_column: str | None = None
    location_column: str | None = None

    @model_validator(mode="after")
    def _check_label_map(self) -> SourceSpec:
        for spelling, label in self.label_map.items():
            if label not in LABELS:
                raise ValueError(
                    f"label_map.{spelling} must be one of {', '.join(LABELS)}; got {label!r}"
                )
        if self.format == "fields" and not self.columns:
            raise ValueError("columns must list the field names when format is 'fields'")
        if self.columns and len(set(self.columns)) < len(self.columns):
            repeated = sorted({name for name in self.columns if self.columns.count(name) > 1})
            raise ValueError(f"columns must not repeat a name; repeated: {', '.join(repeated)}")
        if self.party is not None and self.party_column is not None:
            raise ValueError("party and party_column must not both be set; keep one of them")
        return self


class PreprocessSettings(_Section):
    """Cleaning options passed to :class:`seatcast.preprocess.CleanOptions`."""

    lowercase: bool = True
    reduce_len: bool = True
    urls: Literal["token", "remove", "keep"] = "token"
    mentions: Literal["token", "remove", "keep"] = "token"
    hashtags: Literal["keep", "strip", "remove"] = "keep"
    mark_elongation: bool = True
    mark_allcaps: bool = True
    strip_label_emoticons: bool = False


class FeatureSettings(_Section):
    """Feature extraction settings (see :mod:`seatcast.features`)."""

    word_ngram_range: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] = [1, 2]
    word_min_df: PositiveInt = 1
    word_max_features: PositiveInt | None = None
    char_ngram_range: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] | None = None
    char_min_df: PositiveInt = 2
    char_max_features: PositiveInt | None = None
    sublinear_tf: bool = True
    negation: bool = True
    tweet_features: bool = True

    @model_validator(mode="after")
    def _check_ranges(self) -> FeatureSettings:
        for key in ("word_ngram_range", "char_ngram_range"):
            value = getattr(self, key)
            if value is not None and value[0] > value[1]:
                raise ValueError(f"{key} must be [low, high] with low <= high; got {value}")
        return self


class ModelSettings(_Section):
    """Linear SVM settings."""

    C: Annotated[float, Field(gt=0.0)] = 0.5
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: PositiveInt = 5000
    calibrate: bool = False
    calibration_folds: Annotated[int, Field(ge=2, le=20)] = 5
    # Added to each class's decision value after fitting; `seatcast tune` fits them.
    class_offsets: dict[Literal["negative", "neutral", "positive"], float] = Field(
        default_factory=dict
    )


class CrossValidationSettings(_Section):
    """Stratified k-fold settings."""

    n_splits: Annotated[int, Field(ge=2, le=100)] = 15
    shuffle: bool = True


class RunSettings(_Section):
    """Settings of the parallel stages: workers, chunk size and backend."""

    jobs: Annotated[int, Field(ge=1, le=MAX_JOBS)] = 2
    chunk_size: Annotated[int, Field(ge=1, le=MAX_CHUNK_SIZE)] = 2000
    backend: Literal["processes", "dask"] = "processes"
    scheduler: str | None = None


class LimitSettings(_Section):
    """Input limits and the share of unusable rows a run tolerates."""

    max_rejected_share: Share = 0.05
    max_line_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    max_file_bytes: Annotated[int, Field(ge=1)] = 10 * 1024**3


class TrainData(_Section):
    """Training data, and the development data that must stay out of it."""

    train: Annotated[list[SourceSpec], Field(min_length=1)]
    exclude: list[SourceSpec] = Field(default_factory=list)
    deduplicate: bool = True


class TrainConfig(_Section):
    """A training run: data, preprocessing, features, model and cross-validation."""

    name: RunName | None = None
    mode: Literal["binary", "3class"] = "binary"
    seed: Seed = 42
    data: TrainData
    preprocess: PreprocessSettings = PreprocessSettings()
    features: FeatureSettings = FeatureSettings()
    model: ModelSettings = ModelSettings()
    cv: CrossValidationSettings = CrossValidationSettings()
    run: RunSettings = RunSettings()
    limits: LimitSettings = LimitSettings()

    @property
    def labels(self) -> tuple[str, ...]:
        """Return the label set this mode trains on, in sorted order."""
        if self.mode == "binary":
            return ("negative", "positive")
        return LABELS


class PartySpec(_Section):
    """A party and the signs that attribute a tweet to it."""

    name: Annotated[str, Field(min_length=1)]
    hashtags: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


class AttributionSettings(_Section):
    """Rules that attribute tweets to parties."""

    by: Literal["source", "keywords", "both"] = "source"
    multi_party: Literal["each", "drop"] = "each"


class CountCleaning(_Section):
    """Filters that leave tweets out before counting."""

    drop_retweets: bool = True
    duplicates: Literal["exact", "near", "keep"] = "near"
    max_tweets_per_user: PositiveInt | None = None


class SeatSettings(_Section):
    """The party score and the seat rule."""

    score: Literal["pss", "positive_ratio", "net", "mentions"] = "pss"
    rule: Literal["hamilton", "dhondt", "sainte-lague", "power"] = "hamilton"
    k: Annotated[float, Field(gt=0.0, le=50.0)] = 3.0
    total: PositiveInt


class ResultsSpec(_Section):
    """The actual result of the election, for comparison and backtests."""

    path: str
    party_column: str = "party"
    seats_column: str = "seats"
    vote_share_column: str | None = "vote_share"


class ConstituencyResultsSpec(_Section):
    """Winners by state and constituency, for state-level backtests."""

    path: str
    state_column: str = "STATE"
    party_column: str = "PARTY"
    winner_column: str = "WINNER"
    party_aliases: dict[str, str] = Field(default_factory=dict)
    state_aliases: dict[str, str] = Field(default_factory=dict)


class BootstrapSettings(_Section):
    """Resampling for uncertainty intervals."""

    n_resamples: Annotated[int, Field(ge=0, le=100_000)] = 1000
    confidence: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.9
    confusion_matrix: str | None = None
    confusion_method: Literal["inverse", "posterior"] = "inverse"


class BacktestSettings(_Section):
    """Backtest options: past results to fit the power rule's exponent on."""

    calibration_results: list[str] = Field(default_factory=list)


class SubeventSettings(_Section):
    """Topic discovery per time window."""

    enabled: bool = True
    window: str = "1D"
    n_topics: Annotated[int, Field(ge=1, le=50)] = 5
    top_terms: Annotated[int, Field(ge=1, le=50)] = 8
    min_tweets: PositiveInt = 50


class ElectionConfig(_Section):
    """An election forecast: corpus, parties, attribution, scores, seats and results."""

    name: RunName | None = None
    model: str = "models/train.skops"
    corpus: Annotated[list[SourceSpec], Field(min_length=1)]
    parties: Annotated[list[PartySpec], Field(min_length=1)]
    attribution: AttributionSettings = AttributionSettings()
    cleaning: CountCleaning = CountCleaning()
    seats: SeatSettings
    results: ResultsSpec | None = None
    constituency_results: ConstituencyResultsSpec | None = None
    bootstrap: BootstrapSettings = BootstrapSettings()
    backtest: BacktestSettings = BacktestSettings()
    subevents: SubeventSettings = SubeventSettings()
    min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    run: RunSettings = RunSettings()
    limits: LimitSettings = LimitSettings()

    @model_validator(mode="after")
    def _check_parties(self) -> ElectionConfig:
        names = [party.name for party in self.parties]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"parties must have unique names; repeated: {', '.join(duplicates)}")
        for source in self.corpus:
            if source.party is not None and source.party not in names:
                raise ValueError(
                    f"corpus party {source.party!r} must be one of the parties ({', '.join(names)})"
                )
        return self


def find_project_root(start: Path) -> Path:
    """Find the project root for ``start``: the nearest folder with ``pyproject.toml`` or
    ``configs/``, or the current directory when there is none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / "configs").is_dir():
            return folder
    return Path.cwd()


def _describe_location(location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _valid_keys(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    """Return the keys allowed at ``location`` (the parent of an unknown key)."""
    current: Any = model
    for item in location:
        if isinstance(item, int):
            continue
        field = current.model_fields.get(item) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        current = _section_type(field.annotation)
        if current is None:
            return []
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = _section_type(argument)
        if found is not None:
            return found
    return None


def _format_errors(path: Path, error: ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for item in error.errors():
        location = tuple(item["loc"])
        key = _describe_location(location)
        if item["type"] == "extra_forbidden":
            message = f"unknown key `{key}`"
            candidates = _valid_keys(model, location[:-1])
            close = difflib.get_close_matches(str(location[-1]), candidates, n=1)
            if close:
                message += f"; did you mean `{close[0]}`?"
            elif candidates:
                message += f"; valid keys here: {', '.join(candidates)}"
        elif item["type"] == "missing":
            message = f"`{key}` is required but missing"
        else:
            got = item.get("input")
            reason = str(item["msg"]).removeprefix("Value error, ")
            message = f"`{key}` {reason[0].lower()}{reason[1:]}"
            # A check across a whole section already names the bad value; the section itself
            # would only repeat the config.
            if not isinstance(got, dict):
                message += f"; got {got!r}"
        lines.append(message)
    shown = "; ".join(lines[:5])
    if len(lines) > 5:
        shown += f" (and {len(lines) - 5} more)"
    return f"invalid config {path}: {shown}. Fix the config and run again."


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice; keep one", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}. Check the path given to --config.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config {path} is not valid UTF-8 (byte {error.start}); save it as UTF-8."
        ) from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"config {path} is not valid YAML{where}: {problem}.") from None
    if document is None:
        raise ConfigError(f"config {path} is empty; see configs/ for complete examples.")
    if not isinstance(document, dict):
        raise ConfigError(
            f"config {path} must be a YAML mapping of keys to values; "
            f"got a {type(document).__name__}."
        )
    return document


def _validate(path: Path, document: dict[str, Any], model: type[_Section]) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ConfigError(_format_errors(path, error, model)) from None


def apply_overrides(document: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` with dotted keys such as ``run.jobs`` set.

    ``None`` values are ignored, so unset command-line options keep the config's value.
    """
    result = {**document}
    for dotted, value in overrides.items():
        if value is None:
            continue
        target = result
        *parents, last = dotted.split(".")
        for part in parents:
            child = target.get(part)
            child = {**child} if isinstance(child, dict) else {}
            target[part] = child
            target = child
        target[last] = value
    return result


def load_train_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Load and validate a training config.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    overrides : dict, default=None
        Dotted keys to set after reading, such as ``{"run.jobs": 1}``.

    Returns
    -------
    TrainConfig
        The validated config. ``name`` defaults to the file name without its suffix.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or breaks the schema.
    """
    path = Path(path)
    document = apply_overrides(_read_yaml(path), overrides or {})
    document.setdefault("name", path.stem)
    return _validate(path, document, TrainConfig)


def load_election_config(
    path: str | Path, overrides: dict[str, Any] | None = None
) -> ElectionConfig:
    """Load and validate an election config; see :func:`load_train_config`."""
    path = Path(path)
    document = apply_overrides(_read_yaml(path), overrides or {})
    document.setdefault("name", path.stem)
    return _validate(path, document, ElectionConfig)


def resolve_path(root: Path, value: str) -> Path:
    """Resolve a path from a config against the project root (absolute paths stay as given)."""
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else root / candidate
