"""The answer policy: every weight, threshold and limit of the answer stage, read from one
versioned data file, `rag/answer/policy.json`, written by `bench/fit_policy.py` (which fits
the sentence-scoring weights and the "not found" threshold on the dev sets and records how).

Nothing in the answer stage types a number that decides behaviour: it reads it from here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rag.conversation import FollowUpRules
from rag.span import SpanRules
from rag.span_rank import SpanModel
from rag.trees import TreeEnsemble

POLICY_FILE = Path(__file__).with_name("policy.json")
SPAN_TREES_FILE = "span_trees.txt"  # the span model's trees, when fitted: beside the policy that names them
SPAN_LEXICAL_FILE = "span_lexical.npy"  # the span model's lexical weights (numpy's format), likewise
SENTENCE_TREES_FILE = "sentence_trees.txt"  # the sentence ranker's trees, likewise
FORMAT_VERSION = 15  # 15: not_found.min_names_en; 14: terms.en_pinyin_syllables; 13: not_found.min_margin_en; 2: span_model; 3: not_found weighs the best sentence's score and answer type, span_model.min_confidence; 4: span_model.shortlist and trees_file; 5: span_model.tree_kinds and tree_min_confidence; 6: compose.next_chars; 7: sentence_model; 8: evidence.adjacent_chars, spans.anchor_chars; 9: follow_up; 10: span_model.lexical_file and lexical_templates; 11: neighbour_model replaces compose.next_chars; 12: span_choice


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """A sentence's score: a weighted sum of its features (rag.answer.features)."""

    cov: float  # share of the question's terms in the sentence (terms rare among the candidates weigh more)
    title_credit: float  # a term only in the article's title counts this share of one in the sentence
    ctx_cov: float  # share of the terms in the sentence's passage and title
    retrieval: float  # the passage's fused retrieval score, over the best passage's
    rank: float  # per place of the passage in the retrieval order (negative: later is worse)
    dense: float  # cosine of the sentence and question vectors
    type_ok: float  # the sentence holds the kind of thing asked for (a number for 多少, …)
    type_ok_list: float  # the same for list questions (a list is most of their answer)


@dataclass(frozen=True, slots=True)
class NotFound:
    """Whether the best sentence answers a Chinese question: a linear boundary over how much
    of the question's weighted terms its passage and title cover (`ctx_cov`), its cosine with
    the question (`dense`), whether a number or date is asked for and the sentence holds none
    (`type_miss`, 0 or 1), its score under the policy's weights (`score`), its answer-type
    feature (`type_ok`), the sentence ranker's score of it (`rank`, 0 without a ranker) and
    whether its article lacks a proper word of the question (`named_miss`, 0 or 1) and the
    best score of a sentence of another article (`rival`), fitted
    as a logistic regression on answerable vs deleted-source dev questions: answered when
    the weighted sum of those plus `bias` is >= 0."""

    ctx_cov: float
    dense: float
    type_miss: float
    score: float
    type_ok: float
    rank: float
    named_miss: float  # the best sentence's article lacks one of the question's proper words (0 or 1)
    rival: float  # the best score of a sentence of another article among the candidates
    bias: float
    min_own_coverage: float  # a follow-up's own words (not the carried ones) covered at least this much
    min_coverage_en: float  # English questions: ctx_cov at least this (bench/english.py --fit)
    # English questions: the boundary's margin (its weighted sum plus bias, 0 for a Chinese
    # question) at least this; fitted after the boundary by bench/english.py --fit
    min_margin_en: float
    # English questions: the share of the names the question asks about (Query.names) that the
    # best sentence's passage names, at least this (names_cov; bench/english.py --fit): a name
    # the dictionary renders as no word the article writes (an acronym, a company's own
    # rendering) need not refuse a question whose other names are there
    min_names_en: float
    min_dense_only: float  # a question without any term: the best sentence's cosine


@dataclass(frozen=True, slots=True)
class Compose:
    """How the answer is put together from the ranked sentences."""

    max_answer_chars: int
    second_sentence: float  # a second sentence is added when it scores this share of the best
    second_window: int  # how many of the next-ranked sentences may be that second sentence
    fragment_chars: int  # a best sentence shorter than this is completed by its neighbour
    list_type_min: float  # the answer-type feature from which a sentence counts as a list
    list_lead: float  # a list sentence leads when it scores this share of the best
    list_merge: float  # list sentences merged when they score this share of the best
    list_window: int  # how many of the next-ranked sentences list merging looks at
    list_max: int  # at most this many sentences in a list answer
    suggestions: int  # nearest passages listed with a "not found" (at most top_k)


@dataclass(frozen=True, slots=True)
class TypeCredit:
    """The answer-type feature: how much of it a sentence earns."""

    other_date_for_year: float  # a date without a year, when a year is asked
    people_per_list: int  # person names that make a sentence a full list of people
    min_name_chars: int  # a person name (jieba POS nr) is this long at least
    marks_per_list: int  # enumeration marks (、) that make a sentence a full list


@dataclass(frozen=True, slots=True)
class Evidence:
    """How much evidence is gathered and weighed."""

    passages: int  # passages whose sentences are candidates
    prefer_bonus: float  # fused-score bonus for articles the previous answer cited (follow-ups)
    type_shortlist: int  # sentences whose answer type is checked (tagging is the slow part)
    dense_shortlist: int  # sentences embedded at query time on an index without sentence vectors
    shortlist_en_factor: int  # both shortlists are this many times longer for English questions
    adjacent_chars: int  # characters between two sentences that still make them neighbours (the ranker's)


@dataclass(frozen=True, slots=True)
class Terms:
    light_weight: float  # weight factor of answer-type nouns and words about the article itself
    en_words_per_term: int  # Chinese words taken per English content word (commonest first)
    # an English question's foreign name counts as named by a passage that spells it by sound
    # when its skeleton has this many consonant classes at least (rag.transliteration;
    # bench/transliteration.py --write)
    en_name_classes: int
    # and a romanized Chinese name one written in characters read as its syllables, when it is
    # cut into this many at least (rag.english.pinyin_sound; bench/transliteration.py --write)
    en_pinyin_syllables: int


@dataclass(frozen=True, slots=True)
class SentenceModel:
    """The sentence ranker (rag.answer.rank, fitted by bench/fit_ranker.py): `trees` over
    `features` rank again the best `shortlist` sentences of the linear score of a Chinese
    question; `trees_file` is their LightGBM text model beside the policy file ("" and no
    trees: the linear score decides alone)."""

    features: tuple[str, ...] = ()
    shortlist: int = 0
    trees_file: str = ""
    trees: TreeEnsemble | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A logistic margin over `features` with `weights` and `bias` (JSON coefficients, fitted
    by a bench command): the neighbour model (rag.answer.neighbours, bench/fit_neighbours.py)
    and the short answer's sentence choice (rag.answer.span_choice, bench/fit_span_choice.py).
    No weights: the decision it makes is left to the rule without it."""

    features: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    bias: float = 0.0


@dataclass(frozen=True, slots=True)
class Policy:
    score: ScoreWeights
    not_found: NotFound
    compose: Compose
    evidence: Evidence
    terms: Terms
    types: TypeCredit
    spans: SpanRules  # short answers: the rules' pick (rag.span), one candidate among others
    follow_up: FollowUpRules  # follow-up questions (rag.conversation)
    span_model: SpanModel  # short answers: the weights that rank the candidates (rag.span_rank)
    sentence_model: SentenceModel  # the ranker of candidate sentences (rag.answer.rank)
    neighbour_model: LinearModel  # reading into the sentence before or after (rag.answer.neighbours)
    span_choice: LinearModel  # which cited sentence gives the short answer (rag.answer.span_choice)
    fitted: dict[str, Any]  # how the file was made: command, data, measured figures

    @staticmethod
    @functools.cache
    def load(path: Path = POLICY_FILE) -> Policy:
        """The policy in `path` (cached per path)."""
        return policy_from_dict(
            json.loads(Path(path).read_text(encoding="utf-8")), str(path), Path(path).parent
        )


T = TypeVar("T")


def _section(cls: type[T], raw: Any, where: str) -> T:
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if not isinstance(raw, dict) or set(raw) != set(names):
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise ValueError(f"{where}: expected the keys {sorted(names)}, found {got}; run bench/fit_policy.py")
    return cls(**raw)


def policy_from_dict(raw: dict[str, Any], where: str = "policy", folder: Path = POLICY_FILE.parent) -> Policy:
    """The policy in `raw`; files it names (the span model's trees) are read from `folder`."""
    if raw.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{where}: format_version {raw.get('format_version')!r}, this code reads {FORMAT_VERSION}; "
            "run bench/fit_policy.py to write a current policy"
        )
    policy = Policy(
        score=_section(ScoreWeights, raw.get("score"), f"{where}: score"),
        not_found=_section(NotFound, raw.get("not_found"), f"{where}: not_found"),
        compose=_section(Compose, raw.get("compose"), f"{where}: compose"),
        evidence=_section(Evidence, raw.get("evidence"), f"{where}: evidence"),
        terms=_section(Terms, raw.get("terms"), f"{where}: terms"),
        types=_section(TypeCredit, raw.get("types"), f"{where}: types"),
        spans=_section(SpanRules, raw.get("spans"), f"{where}: spans"),
        follow_up=_section(FollowUpRules, raw.get("follow_up"), f"{where}: follow_up"),
        span_model=_span_model(raw.get("span_model"), f"{where}: span_model", folder),
        sentence_model=_sentence_model(raw.get("sentence_model"), f"{where}: sentence_model", folder),
        neighbour_model=_linear_model(
            raw.get("neighbour_model"), f"{where}: neighbour_model", "bench/fit_neighbours.py"
        ),
        span_choice=_linear_model(
            raw.get("span_choice"), f"{where}: span_choice", "bench/fit_span_choice.py"
        ),
        fitted=dict(raw.get("fitted", {})),
    )
    # the ranker sees sentences with an answer type only: its shortlist is within that one
    if policy.sentence_model.shortlist > policy.evidence.type_shortlist:
        raise ValueError(
            f"{where}: sentence_model.shortlist {policy.sentence_model.shortlist} is longer than "
            f"evidence.type_shortlist {policy.evidence.type_shortlist}; run bench/fit_ranker.py"
        )
    return policy


def _trees(path: Path, where: str, command: str) -> TreeEnsemble:
    try:
        return TreeEnsemble.from_text(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{where}: cannot read its trees from {path}: {e}; run {command}") from e


_SENTENCE_MODEL_KEYS = ("features", "shortlist", "trees_file")  # as written


def _with_keys(raw: Any, keys: tuple[str, ...], where: str, command: str) -> dict[str, Any]:
    """`raw`, when it is a dict with exactly `keys`; else an error that names the command to run."""
    if not isinstance(raw, dict) or set(raw) != set(keys):
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise ValueError(f"{where}: expected the keys {sorted(keys)}, found {got}; run {command}")
    return raw


def _sentence_model(raw: Any, where: str, folder: Path) -> SentenceModel:
    raw = _with_keys(raw, _SENTENCE_MODEL_KEYS, where, "bench/fit_ranker.py")
    trees = _trees(folder / raw["trees_file"], where, "bench/fit_ranker.py") if raw["trees_file"] else None
    if trees is not None and (trees.n_features != len(raw["features"]) or int(raw["shortlist"]) < 1):
        raise ValueError(
            f"{where}: its trees do not fit its features (or no shortlist); run bench/fit_ranker.py"
        )
    # whether the features are this code's is checked where they are used (rag.answer.choose)
    return SentenceModel(tuple(raw["features"]), int(raw["shortlist"]), str(raw["trees_file"]), trees)


def _linear_model(raw: Any, where: str, command: str) -> LinearModel:
    raw = _with_keys(raw, ("features", "weights", "bias"), where, command)
    weights = tuple(float(w) for w in raw["weights"])
    bias = float(raw["bias"])
    if weights and len(weights) != len(raw["features"]):
        raise ValueError(
            f"{where}: {len(weights)} weights for {len(raw['features'])} features; run {command}"
        )
    if not all(math.isfinite(w) for w in (*weights, bias)):
        raise ValueError(f"{where}: a weight is not a finite number; run {command}")
    # whether the features are this code's is checked where they are used (rag.answer.choose, .stage)
    return LinearModel(tuple(raw["features"]), weights, bias)


_SPAN_MODEL_KEYS = (
    "features",
    "weights",
    "min_confidence",
    "shortlist",
    "trees_file",
    "tree_kinds",
    "tree_min_confidence",
    "lexical_file",
    "lexical_templates",
)  # as written


def _span_model(raw: Any, where: str, folder: Path) -> SpanModel:
    raw = _with_keys(raw, _SPAN_MODEL_KEYS, where, "bench/fit_spans.py")
    trees = _trees(folder / raw["trees_file"], where, "bench/fit_spans.py") if raw["trees_file"] else None
    lexical = _lexical(folder / raw["lexical_file"], where) if raw["lexical_file"] else None
    # whether the features are this code's is checked where they are used (rag.span_rank), so
    # that bench/fit_spans.py can still load the rest of a policy after the features changed
    return SpanModel(
        tuple(raw["features"]),
        tuple(float(w) for w in raw["weights"]),
        float(raw["min_confidence"]),
        int(raw["shortlist"]),
        str(raw["trees_file"]),
        trees,
        tuple(str(k) for k in raw["tree_kinds"]),
        float(raw["tree_min_confidence"]),
        str(raw["lexical_file"]),
        tuple(str(t) for t in raw["lexical_templates"]),
        lexical,
    )


def _lexical(path: Path, where: str) -> np.ndarray:
    """The span model's lexical weights: one float per bucket, numpy's format (no pickle)."""
    try:
        weights = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"{where}: cannot read its lexical weights from {path}: {e}; run bench/fit_spans.py"
        ) from e
    if weights.ndim != 1 or not np.issubdtype(weights.dtype, np.floating) or not np.isfinite(weights).all():
        raise ValueError(
            f"{where}: {path} is not a vector of finite weights ({weights.dtype}, shape {weights.shape}); "
            "run bench/fit_spans.py"
        )
    return weights.astype(np.float32)


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    out: dict[str, Any] = {"format_version": FORMAT_VERSION}
    for f in dataclasses.fields(policy):
        value = getattr(policy, f.name)
        if f.name == "fitted":
            out["fitted"] = value
        elif f.name in ("span_model", "sentence_model"):  # their trees are in their own files, named here
            keys = _SPAN_MODEL_KEYS if f.name == "span_model" else _SENTENCE_MODEL_KEYS
            out[f.name] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(value, k)) for k in keys)
            }
        else:
            out[f.name] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(value).items()
            }
    return out


def write_policy(
    policy: Policy,
    path: Path = POLICY_FILE,
    trees_text: str | None = None,
    sentence_trees_text: str | None = None,
    lexical_weights: np.ndarray | None = None,
) -> None:
    """Write `policy` as the fitting commands do (one format for every writer).

    `trees_text` and `sentence_trees_text` (LightGBM's text format) are written beside it,
    under the names its span model and its sentence model give (`trees_file`), before the
    policy that names them. A model that names no trees removes the file an earlier fit left
    there (`SPAN_TREES_FILE`, `SENTENCE_TREES_FILE`), so the folder holds only what the policy
    reads. `lexical_weights` go, likewise, into the span model's `lexical_file` (numpy's format)."""
    path = Path(path)
    models = (
        (policy.span_model.trees_file, trees_text, SPAN_TREES_FILE, "span"),
        (policy.sentence_model.trees_file, sentence_trees_text, SENTENCE_TREES_FILE, "sentence"),
    )
    for name, text, _, which in models:
        if text is not None:
            if not name:
                raise ValueError(f"trees given for a {which} model that names no trees_file")
            (path.parent / name).write_text(text, encoding="utf-8")
    lexical_file = policy.span_model.lexical_file
    if lexical_weights is not None:
        if not lexical_file:
            raise ValueError("lexical weights given for a span model that names no lexical_file")
        np.save(path.parent / lexical_file, np.asarray(lexical_weights, dtype=np.float32), allow_pickle=False)
    path.write_text(json.dumps(policy_to_dict(policy), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for name, _, default, _ in models:
        if not name:
            path.with_name(default).unlink(missing_ok=True)
    if not lexical_file:
        path.with_name(SPAN_LEXICAL_FILE).unlink(missing_ok=True)
