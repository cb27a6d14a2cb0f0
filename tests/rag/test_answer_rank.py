"""The sentence ranker: its features (rag.answer.rank), how it orders the candidates
(rag.answer.choose.rank_sentences) and how the policy file carries it (no index, no model)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from rag.answer import (
    POLICY_FILE,
    RANK_FEATURES,
    RECORDED_FEATURES,
    Policy,
    Query,
    Sentence,
    SentenceModel,
    choose,
    full_score,
    ordered,
    partial_score,
    policy_from_dict,
    rank_features,
    rank_sentences,
    recorded_sentence,
    write_policy,
)
from rag.answer.policy import SENTENCE_TREES_FILE, SPAN_TREES_FILE
from rag.span_features import FEATURE_NAMES
from rag.trees import TreeEnsemble
from tests.rag.tree_helpers import one_split_text


def query(terms: list[str], kind: str = "other", script: str = "zh-Hans") -> Query:
    return Query("q", script, "q", "q", kind, terms=terms)


def candidates(lines: list[tuple[str, int, str, dict[str, float]]]) -> list[Sentence]:
    """(article, start, text, features) -> sentences, features not given 0."""
    out = []
    for article, start, text, feats in lines:
        out.append(recorded_sentence(article, 0, dict.fromkeys(RECORDED_FEATURES, 0.0) | feats, text, start))
    return out


def scored(p: Policy, q: Query, sents: list[Sentence]) -> list[float]:
    for s in sents:
        s.score = full_score(p.score, q, s)
    return [partial_score(p.score, s) for s in sents]


def column(x: np.ndarray, name: str) -> list[float]:
    return x[:, RANK_FEATURES.index(name)].tolist()


def test_neighbours_are_the_adjacent_sentences_of_the_same_article() -> None:
    p = Policy.load()
    q = query(["机场", "方案", "反对"])
    sents = candidates(
        [
            ("a", 0, "市政府去年提出了扩建机场的方案。", {"cov": 0.6}),
            ("a", 16, "但因环保组织反对，方案被暂时搁置。", {"cov": 0.5}),
            ("a", 60, "新航站楼于今年启用。", {"cov": 0.0}),  # not adjacent to the one before
            ("b", 17, "另一座城市也有扩建机场的方案。", {"cov": 0.4}),  # other article
        ]
    )
    partial = scored(p, q, sents)
    x = rank_features(q, sents, [0, 1, 2, 3], partial, p.evidence.adjacent_chars)
    assert x.shape == (4, len(RANK_FEATURES))
    assert column(x, "prev_cov") == [-1.0, 0.6, -1.0, -1.0]
    assert column(x, "next_cov") == [0.5, -1.0, -1.0, -1.0]
    # what the second sentence adds to the first: the characters of 反对 (2 of 6)
    assert column(x, "prev_adds")[1] == pytest.approx(2 / 6)
    assert column(x, "score_gap")[0] == pytest.approx(0.0)  # the best of the shortlist
    assert column(x, "score_place") == [0.0, 1.0, 3.0, 2.0]
    assert column(x, "kind:other") == [1.0] * 4 and column(x, "kind:person") == [0.0] * 4


def test_how_far_apart_neighbours_may_be_is_the_policys() -> None:
    """Two sentences with a line break and a space between them are neighbours within
    `evidence.adjacent_chars` (2 shipped) and not when it is smaller."""
    p = Policy.load()
    q = query(["机场", "方案"])
    sents = candidates(
        [
            ("a", 0, "市政府去年提出了扩建机场的方案。", {"cov": 0.6}),
            ("a", 18, "方案被暂时搁置。", {"cov": 0.5}),
        ]
    )
    partial = scored(p, q, sents)
    gap = 2
    assert column(rank_features(q, sents, [0, 1], partial, gap), "prev_cov")[1] == 0.6
    assert column(rank_features(q, sents, [0, 1], partial, gap - 1), "prev_cov")[1] == -1.0
    assert p.evidence.adjacent_chars >= gap


def test_question_words_are_matched_on_the_canonical_text() -> None:
    """A Traditional sentence matches the Simplified terms (features read the canonical text)."""
    p = Policy.load()
    q = query(["机场", "扩建"])
    sents = candidates([("a", 0, "市政府提出擴建機場的方案。", {}), ("a", 40, "今年天氣很好。", {})])
    partial = scored(p, q, sents)
    x = rank_features(q, sents, [0, 1], partial, p.evidence.adjacent_chars)
    assert column(x, "q_chars") == [1.0, 0.0]
    assert column(x, "q_bigrams") == [1.0, 0.0]
    assert column(x, "closed") == [1.0, 1.0]


def with_ranker(p: Policy, feature: int, shortlist: int) -> Policy:
    """`p` with a one-split ranker: +1 where RANK_FEATURES[feature] is above 0.5, else -1."""
    trees = TreeEnsemble.from_text(one_split_text(feature, len(RANK_FEATURES)))
    return dataclasses.replace(p, sentence_model=SentenceModel(RANK_FEATURES, shortlist, "t.txt", trees))


def test_the_ranker_orders_its_shortlist_and_the_rest_follow_by_score() -> None:
    base = Policy.load()
    q = query(["机场", "方案"])
    sents = candidates(
        [
            ("a", 0, "扩建机场的方案已经提出", {"cov": 1.0, "ctx_cov": 1.0}),  # best score, no closing mark
            ("a", 40, "方案提出了。", {"cov": 0.5, "ctx_cov": 1.0}),
            ("a", 80, "别的句子。", {"cov": 0.1}),
        ]
    )
    scored(base, q, sents)
    # the ranker here: a sentence that closes ranks first; the shortlist: the best two
    p = with_ranker(base, RANK_FEATURES.index("closed"), shortlist=2)
    rank_sentences(p, q, sents)
    assert [s.text for s in ordered(sents)] == [sents[1].text, sents[0].text, sents[2].text]
    assert sents[2].rank == -math.inf  # outside the shortlist
    assert choose(p, q, sents)[0].text in (sents[1].text, sents[0].text)
    # no ranker, or an English question: the score alone orders
    rank_sentences(dataclasses.replace(base, sentence_model=SentenceModel()), q, sents)
    assert [s.rank for s in sents] == [0.0, 0.0, 0.0]
    assert ordered(sents)[0] is sents[0]
    rank_sentences(p, query(["airport"], script="en"), sents)
    assert ordered(sents)[0] is sents[0]


def test_a_ranker_fitted_on_other_features_is_refused_with_the_fix() -> None:
    p = Policy.load()
    q = query(["机场"])
    sents = candidates([("a", 0, "机场。", {"cov": 1.0})])
    scored(p, q, sents)
    trees = TreeEnsemble.from_text(one_split_text(0, len(RANK_FEATURES)))
    stale = dataclasses.replace(
        p, sentence_model=SentenceModel(("cov", *RANK_FEATURES[:-1]), 4, "t.txt", trees)
    )
    with pytest.raises(ValueError, match="fit_ranker"):
        rank_sentences(stale, q, sents)


def test_the_shipped_ranker_reads_on_past_a_restated_sentence() -> None:
    """The behaviour the ranker was fitted for: the question restates one sentence and asks
    about the next; the linear score picks the restated sentence, the shipped ranker the one
    after it that holds a person's name (the questions and sentences are made up). The question
    is given as written: the ranker reads its wording (rag.answer.wording), and the answer
    repeats the words right after its question word (反对…搁置)."""
    p = Policy.load()
    assert p.sentence_model.trees is not None, "the shipped policy has a sentence ranker"
    q = dataclasses.replace(
        query(["市政府", "提出", "扩建", "机场", "方案", "反对", "搁置"], kind="person"),
        text="市政府提出扩建机场的方案后，因谁反对而搁置？",
    )
    sents = candidates(
        [
            (
                "a",
                0,
                "市政府去年提出了扩建机场的方案。",
                {"cov": 0.7, "ctx_cov": 1.0, "retrieval": 1.0, "dense": 0.6},
            ),
            (
                "a",
                16,
                "但因环保组织负责人张明反对，方案被暂时搁置。",
                {"cov": 0.3, "ctx_cov": 1.0, "retrieval": 1.0, "dense": 0.45, "type_ok": 1.0},
            ),
            ("a", 38, "新航站楼预计明年动工。", {"cov": 0.1, "ctx_cov": 1.0, "retrieval": 1.0, "dense": 0.3}),
        ]
    )
    scored(p, q, sents)
    assert max(sents, key=lambda s: s.score) is sents[0]  # the linear score alone
    rank_sentences(p, q, sents)
    assert ordered(sents)[0] is sents[1]


def test_the_shipped_ranker_puts_a_sentence_from_an_article_lacking_the_subject_below() -> None:
    """Two sentences alike in every feature but one: the article of the first does not name
    one of the question's proper words (`named_miss`, another interview by the same paper);
    the shipped ranker puts the other first (made-up sentences)."""
    p = Policy.load()
    q = query(["专访", "王强", "日报", "记者"], kind="person")
    text = "在接受日报记者专访时，他说今年要抓好项目建设。"
    feats = {"cov": 0.7, "ctx_cov": 0.9, "retrieval": 1.0, "dense": 0.5, "type_ok": 1.0}
    sents = candidates([("b", 0, text, feats | {"named_miss": 1.0}), ("a", 0, text, feats)])
    scored(p, q, sents)
    rank_sentences(p, q, sents)
    assert sents[0].rank < sents[1].rank
    assert ordered(sents)[0] is sents[1]
    assert column(rank_features(q, sents, [0, 1], [0.0, 0.0], 2), "named_miss") == [1.0, 0.0]


def test_sentence_trees_are_written_and_read_beside_the_policy(tmp_path) -> None:
    out = tmp_path / POLICY_FILE.name
    shipped = Policy.load()
    model = SentenceModel(RANK_FEATURES, 8, SENTENCE_TREES_FILE)
    with_trees = dataclasses.replace(
        shipped,
        span_model=dataclasses.replace(shipped.span_model, trees_file=SPAN_TREES_FILE, shortlist=8),
        sentence_model=model,
    )
    write_policy(
        with_trees,
        out,
        trees_text=one_split_text(3, len(FEATURE_NAMES)),
        sentence_trees_text=one_split_text(2, len(RANK_FEATURES)),
        lexical_weights=shipped.span_model.lexical,
    )

    def reread() -> Policy:
        return policy_from_dict(json.loads(out.read_text(encoding="utf-8")), str(out), tmp_path)

    got = reread().sentence_model
    assert got.shortlist == 8 and got.trees is not None and got.features == RANK_FEATURES
    # a policy whose sentence trees are missing is refused with the fix
    (tmp_path / SENTENCE_TREES_FILE).unlink()
    with pytest.raises(ValueError, match="fit_ranker"):
        reread()
    # written without a ranker, a stale trees file goes
    (tmp_path / SENTENCE_TREES_FILE).write_text("stale", encoding="utf-8")
    write_policy(dataclasses.replace(with_trees, sentence_model=SentenceModel()), out)
    assert not (tmp_path / SENTENCE_TREES_FILE).exists()
    assert reread().sentence_model.trees is None
    with pytest.raises(ValueError, match="trees_file"):
        write_policy(
            dataclasses.replace(with_trees, sentence_model=SentenceModel()), out, sentence_trees_text="t"
        )


def test_a_ranker_shortlist_longer_than_the_answer_type_shortlist_is_refused() -> None:
    """The ranker was fitted on sentences that all have an answer type: its shortlist may not
    reach past the ones that get one."""
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    raw["sentence_model"]["shortlist"] = raw["evidence"]["type_shortlist"] + 1
    with pytest.raises(ValueError, match="type_shortlist"):
        policy_from_dict(raw)
