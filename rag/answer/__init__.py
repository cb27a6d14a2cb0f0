"""The answer stage: question analysis -> candidate sentences with features -> the policy's
decision -> verified citations (and a short answer span). Public API re-exported here."""

from rag.answer.agreement import counts_in
from rag.answer.candidates import LATER_FEATURES, RECORDED_FEATURES, Sentence, recorded_sentence
from rag.answer.choose import (
    BOUNDARY_INPUTS,
    answerable,
    boundary_inputs,
    choose,
    full_score,
    neighbours,
    ordered,
    partial_score,
    rank_sentences,
    reads_into,
    shortlist,
    type_miss,
)
from rag.answer.neighbours import NEIGHBOUR_FEATURES, neighbour_features
from rag.answer.policy import (
    POLICY_FILE,
    LinearModel,
    Policy,
    SentenceModel,
    policy_from_dict,
    policy_to_dict,
    write_policy,
)
from rag.answer.question import Query, analyse, asked_measure, query_measure
from rag.answer.rank import RANK_FEATURES, rank_features
from rag.answer.span_choice import (
    SPAN_CHOICE_FEATURES,
    choose_span,
    picked_span,
    sentence_spans,
    span_choice_features,
)
from rag.answer.stage import (
    NOT_FOUND,
    Evidence,
    ask,
    cite,
    gather_evidence,
    known_words,
    score_sentences,
    search,
)

__all__ = [
    "BOUNDARY_INPUTS",
    "LATER_FEATURES",
    "NEIGHBOUR_FEATURES",
    "NOT_FOUND",
    "POLICY_FILE",
    "RANK_FEATURES",
    "RECORDED_FEATURES",
    "SPAN_CHOICE_FEATURES",
    "Evidence",
    "LinearModel",
    "Policy",
    "Query",
    "Sentence",
    "SentenceModel",
    "analyse",
    "answerable",
    "ask",
    "asked_measure",
    "boundary_inputs",
    "choose",
    "choose_span",
    "cite",
    "counts_in",
    "full_score",
    "gather_evidence",
    "known_words",
    "neighbour_features",
    "neighbours",
    "ordered",
    "partial_score",
    "picked_span",
    "policy_from_dict",
    "policy_to_dict",
    "query_measure",
    "rank_features",
    "rank_sentences",
    "reads_into",
    "recorded_sentence",
    "score_sentences",
    "search",
    "sentence_spans",
    "shortlist",
    "span_choice_features",
    "type_miss",
    "write_policy",
]
