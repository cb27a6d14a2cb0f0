"""The answer policy file and the decision functions that read it (no index, no model)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from rag.answer import (
    POLICY_FILE,
    RECORDED_FEATURES,
    Policy,
    Query,
    Sentence,
    SentenceModel,
    answerable,
    full_score,
    policy_from_dict,
    policy_to_dict,
    write_policy,
)
from rag.answer.candidates import written_date
from rag.answer.choose import boundary_margin
from rag.answer.policy import SPAN_TREES_FILE
from rag.records import Hit
from rag.span_features import FEATURE_NAMES
from tests.rag.tree_helpers import one_split_text

HIT = Hit(chunk_id="a#0", article_id="a", title="", text="", start=0, end=0, score=1.0)


def sentence(**features: float) -> Sentence:
    s = Sentence(HIT, 0, 0, 1, "x", "x")
    for k, v in features.items():
        setattr(s, k, v)
    return s


def alone(p: Policy, q: Query, best: Sentence) -> bool:
    """`answerable` for a best sentence that has no other article's sentence beside it."""
    return answerable(p, q, best, [best])


def beside(p: Policy, q: Query, best: Sentence, rival: float) -> bool:
    """`answerable` for a best sentence whose candidates hold another article's sentence
    scoring `rival`."""
    other = Sentence(dataclasses.replace(HIT, chunk_id="b#0", article_id="b"), 1, 0, 1, "y", "y")
    other.score = rival
    return answerable(p, q, best, [best, other])


def query(script: str = "zh-Hans", terms: tuple[str, ...] = ("长沙",), kind: str = "other") -> Query:
    return Query("q", script, "q", "q", kind, terms=list(terms))


def scored(p: Policy, q: Query, **features: float) -> Sentence:
    """A sentence with its score under the policy, as the stage sets it before deciding."""
    s = sentence(retrieval=1.0, **features)
    s.score = full_score(p.score, q, s)
    return s


def boundary_ctx(p: Policy, dense: float, score: float, type_ok: float = 0.0) -> float:
    """The passage coverage on the boundary, the sentence's other inputs fixed (no type miss)."""
    nf = p.not_found
    return (-nf.bias - nf.dense * dense - nf.score * score - nf.type_ok * type_ok) / nf.ctx_cov


def test_the_shipped_policy_loads_and_round_trips() -> None:
    p = Policy.load()
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    assert policy_to_dict(p) == raw
    assert "command" in p.fitted and "cross_dataset" in p.fitted  # it says how it was made


def test_a_policy_with_a_missing_or_unknown_key_is_refused_with_the_fix() -> None:
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    del raw["score"]["dense"]
    with pytest.raises(ValueError, match="fit_policy"):
        policy_from_dict(raw)
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    raw["format_version"] = 0
    with pytest.raises(ValueError, match="format_version"):
        policy_from_dict(raw)


def test_span_trees_are_read_from_beside_the_policy(tmp_path) -> None:
    """A span model's trees live in their own file (LightGBM's text format), named by the
    policy and read from its folder; a policy whose trees file is missing is refused with the fix."""
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    raw["span_model"] |= {"shortlist": 8, "trees_file": "trees.txt"}
    raw["sentence_model"] = {"features": [], "shortlist": 0, "trees_file": ""}  # its trees: test_answer_rank
    copy = tmp_path / POLICY_FILE.name
    copy.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    shutil.copy(POLICY_FILE.with_name(raw["span_model"]["lexical_file"]), tmp_path)  # tested on its own
    with pytest.raises(ValueError, match="fit_spans"):
        Policy.load(copy)  # no trees file beside it
    n = len(FEATURE_NAMES)
    (tmp_path / "trees.txt").write_text(one_split_text(3, n), encoding="utf-8")
    model = Policy.load(copy).span_model
    assert model.shortlist == 8 and model.trees is not None
    x = np.zeros((2, n), dtype=np.float32)
    x[1, 3] = 1.0
    assert model.trees.predict(x).tolist() == [-1.0, 1.0]
    assert (
        policy_to_dict(Policy.load(copy))["span_model"]["trees_file"] == "trees.txt"
    )  # written back as named


def test_not_found_weighs_coverage_with_dense_similarity() -> None:
    p = Policy.load()
    nf = p.not_found
    assert nf.ctx_cov > 0 and nf.dense > 0  # the fitted boundary uses both
    ctx = boundary_ctx(p, dense=0.3, score=0.6)  # on the boundary at cosine 0.3, score 0.6
    q = query()
    assert alone(p, q, sentence(ctx_cov=ctx + 0.02, dense=0.3, score=0.6))
    assert not alone(p, q, sentence(ctx_cov=ctx + 0.02, dense=0.2, score=0.6))  # less similar
    assert not alone(p, q, sentence(ctx_cov=ctx - 0.02, dense=0.3, score=0.6))


def test_not_found_weighs_how_well_the_best_sentence_scored() -> None:
    """Two best sentences with the same passage coverage and cosine: the one the policy scored
    higher (its own words cover the question, it holds what is asked) answers, the one that
    only sits in a covering passage does not."""
    p = Policy.load()
    assert p.not_found.score > 0
    ctx = boundary_ctx(p, dense=0.3, score=0.6)
    q = query()
    assert alone(p, q, sentence(ctx_cov=ctx, dense=0.3, score=0.65))
    assert not alone(p, q, sentence(ctx_cov=ctx, dense=0.3, score=0.55))


def test_english_follow_up_and_termless_questions_have_their_own_rules() -> None:
    p = Policy.load()
    nf = p.not_found
    en = query(script="en")
    covered = sentence(ctx_cov=nf.min_coverage_en, dense=1.0, score=1.0)
    assert alone(p, en, covered)
    assert not alone(p, en, sentence(ctx_cov=nf.min_coverage_en - 0.01, dense=1.0, score=1.0))
    # covered, but the boundary's margin below the English one (bench/english.py --fit): refused
    assert nf.min_margin_en > -10  # fitted, not left out
    over = boundary_margin(nf, en, covered, [covered]) - nf.min_margin_en
    assert over > 0
    below = sentence(ctx_cov=nf.min_coverage_en, dense=1.0 - (over + 0.01) / nf.dense, score=1.0)
    above = sentence(ctx_cov=nf.min_coverage_en, dense=1.0 - (over - 0.01) / nf.dense, score=1.0)
    assert alone(p, en, above) and not alone(p, en, below)
    # its passage naming too few of the names it asks about (min_names_en): refused
    spare = dataclasses.replace(p, not_found=dataclasses.replace(nf, min_names_en=0.5))
    one_of_two = sentence(ctx_cov=nf.min_coverage_en, dense=1.0, score=1.0, names_cov=0.5)
    assert alone(spare, en, one_of_two) and not alone(
        spare, en, dataclasses.replace(one_of_two, names_cov=0.4)
    )
    strict = dataclasses.replace(p, not_found=dataclasses.replace(nf, min_names_en=1.0))
    assert not alone(strict, en, one_of_two) and alone(strict, en, covered)
    bare = query(terms=())
    assert alone(p, bare, sentence(dense=nf.min_dense_only))
    assert not alone(p, bare, sentence(ctx_cov=1.0, dense=nf.min_dense_only - 0.01))
    # a follow-up whose own words are barely covered is refused whatever the rest
    assert not alone(p, query(), sentence(ctx_cov=1.0, dense=1.0, own_cov=nf.min_own_coverage - 0.01))


def test_scores_follow_the_policy_weights() -> None:
    p = Policy.load()
    s = sentence(cov=1.0, ctx_cov=0.5, retrieval=0.8, dense=0.4, type_ok=1.0)
    w = p.score
    want = w.cov + 0.5 * w.ctx_cov + 0.8 * w.retrieval + 0.4 * w.dense
    assert full_score(w, query(), s) == pytest.approx(want + w.type_ok)
    assert full_score(w, query(kind="list"), s) == pytest.approx(want + w.type_ok_list)
    doubled = dataclasses.replace(w, dense=2 * w.dense)
    assert full_score(doubled, query(), s) == pytest.approx(want + w.type_ok + 0.4 * w.dense)


def test_the_publication_date_is_written_as_in_chinese_text() -> None:
    assert written_date(dataclasses.replace(HIT, published="2019-09-25T12:55:03")) == "2019年9月25日"
    assert written_date(dataclasses.replace(HIT, published=None)) == ""


def test_a_one_character_term_counts_only_where_it_is_a_word() -> None:
    from rag.answer.features import coverage
    from rag.sentence_words import analyse

    name = analyse("市领导程水泉出席")
    assert "水" not in name.lone_chars  # inside a name
    assert "水" in analyse("今年全市的水质持续改善，市民喝上了放心水").lone_chars
    long = analyse("这是一段很长的文字，" * 30 + "市领导程水泉出席，水")  # the whole sentence counts
    assert "水" in long.lone_chars
    assert coverage([["水"], ["领导"]], [1.0, 1.0], name.canon, lambda: name.lone_chars) == 0.5
    asked: list[bool] = []

    def lone() -> frozenset[str]:
        asked.append(True)
        return name.lone_chars

    assert coverage([["领导"]], [1.0], name.canon, lone) == 1.0
    assert not asked  # words are looked at only for a one-character term


def test_the_shipped_boundary_refuses_weak_evidence_and_keeps_strong() -> None:
    """Guards the fitted boundary against a refit (or an edit) that makes "not found" lenient
    or strict: half the question's weighted terms in the passage with a low cosine is not an
    answer; three quarters with a typical answering cosine is. The sentence ranker's score is an
    input too: the weak points have none (0), the strong one a modest 0.5 (the best sentences of
    answerable dev questions average about 2.6-3, of deleted-source ones 0.1-0.2). The points
    lie well inside the two sides of the boundary fitted on the dev sets (the three-quarters
    point, at a ranker score of 0, sat on the boundary itself); look at the not-found curve
    before moving them."""
    p = Policy.load()
    q = query()
    typical = 0.4  # the best score of another article's sentence: about the dev sets' median
    assert not beside(p, q, scored(p, q, cov=0.55, ctx_cov=0.55, dense=0.15), typical)
    assert not beside(p, q, scored(p, q, cov=0.3, ctx_cov=0.3, dense=0.6), typical)
    assert beside(p, q, scored(p, q, cov=0.75, ctx_cov=0.75, dense=0.3, rank=0.5), typical)
    assert beside(p, q, scored(p, q, cov=1.0, ctx_cov=1.0, dense=0.1), typical)


def test_a_best_sentence_with_a_close_rival_in_another_article_is_refused() -> None:
    """Where the article that answers is missing, several articles near the question offer
    sentences that score about alike; where it is there, its sentence stands above the others.
    The fitted boundary weighs the best score of another article's sentence against the best
    sentence: the same best sentence is answered beside a weak rival and refused beside one
    scoring nearly as well (a sentence of its own article is no rival)."""
    p = Policy.load()
    assert p.not_found.rival < 0
    q = query()
    best = scored(p, q, cov=0.65, ctx_cov=0.65, dense=0.3, rank=0.3)  # a margin of about ±0.4 either way
    assert beside(p, q, best, 0.2)
    assert not beside(p, q, best, best.score - 0.05)
    same = Sentence(HIT, 0, 5, 6, "z", "z")
    same.score = best.score - 0.05
    assert answerable(p, q, best, [best, same])


def test_a_number_or_date_question_needs_a_sentence_holding_one() -> None:
    """胡忠雄哪年出生？ over articles that never give his birth year: the headline naming him is
    no answer. The fitted boundary weighs a missing number or date against the sentence."""
    p = Policy.load()
    nf = p.not_found
    assert nf.type_miss < 0
    for kind in ("number", "date"):
        q = query(kind=kind)
        ctx = boundary_ctx(p, dense=0.3, score=0.6, type_ok=1.0) + 0.02  # just inside
        assert alone(p, q, sentence(ctx_cov=ctx, dense=0.3, score=0.6, type_ok=1.0))
        ctx = boundary_ctx(p, dense=0.3, score=0.6) + 0.02  # just inside, but for the type miss
        assert not alone(p, q, sentence(ctx_cov=ctx, dense=0.3, score=0.6, type_ok=0.0))
    # other kinds of question are not judged by it
    assert alone(p, query(kind="other"), sentence(ctx_cov=ctx, dense=0.3, score=0.6, type_ok=0.0))


def article_lines(lines: list[tuple[int, str, float]]) -> list[Sentence]:
    """Sentences of one article at the given offsets, with the given scores."""
    from rag.answer import recorded_sentence

    out = []
    for start, text, score in lines:
        s = recorded_sentence("a", 0, dict.fromkeys(RECORDED_FEATURES, 0.0), text, start)
        s.score = score
        out.append(s)
    return out


def test_a_heading_is_completed_by_a_sentence_not_by_the_next_heading() -> None:
    from rag.answer import choose

    p = Policy.load()
    lines = [
        (0, "甲受委托向大会报告工作 乙出席", 0.60),  # headings: no closing mark
        (16, "审议通过《若干意见》", 0.30),
        (100, "乙就《意见》起草情况向大会作说明。", 0.58),
    ]
    sents = article_lines(lines)
    texts = [s.text for s in choose(p, query(), sents)]
    assert texts == [lines[0][1], lines[2][1]]
    # a heading followed by a sentence that closes it is completed by it
    sents[1].text = "审议通过《若干意见》。"
    assert [s.text for s in choose(p, query(), sents)] == [lines[0][1], "审议通过《若干意见》。"]


def test_written_trees_sit_beside_the_policy_and_a_stale_file_is_removed(tmp_path) -> None:
    """The policy writer puts a span model's trees beside the policy that names them; writing
    a policy without trees removes the trees file an earlier fit left there."""
    out = tmp_path / POLICY_FILE.name
    shipped = dataclasses.replace(
        Policy.load(), sentence_model=SentenceModel()
    )  # its trees: test_answer_rank
    with_trees = dataclasses.replace(
        shipped, span_model=dataclasses.replace(shipped.span_model, trees_file=SPAN_TREES_FILE, shortlist=8)
    )
    write_policy(
        with_trees,
        out,
        trees_text=one_split_text(3, len(FEATURE_NAMES)),
        lexical_weights=shipped.span_model.lexical,
    )

    def reread() -> Policy:  # Policy.load caches per path
        return policy_from_dict(json.loads(out.read_text(encoding="utf-8")), str(out), tmp_path)

    assert (tmp_path / SPAN_TREES_FILE).exists() and reread().span_model.trees is not None
    linear = dataclasses.replace(shipped, span_model=dataclasses.replace(shipped.span_model, trees_file=""))
    write_policy(linear, out)
    assert not (tmp_path / SPAN_TREES_FILE).exists()
    assert reread().span_model.trees is None
    with pytest.raises(ValueError, match="trees_file"):
        write_policy(linear, out, trees_text="tree")


def test_fit_spans_refuses_an_unknown_tree_kind() -> None:
    """A typo in `--tree-kinds` is refused when the command starts, not written into a policy
    that every short answer would then refuse."""
    import argparse

    from bench.fit_spans import tree_kinds

    assert tree_kinds("date,list") == ("date", "list")
    with pytest.raises(argparse.ArgumentTypeError, match="numbers"):
        tree_kinds("date,numbers")


def test_each_passage_context_is_its_title_date_and_text_canonical() -> None:
    """Read from the stored words, or (an index without them) converted at query time: the same
    context either way, and its lone characters the title's, the date's and the sentences'."""
    from rag.answer.candidates import candidates
    from rag.index import SentenceRows
    from rag.normalize import canonical_terms
    from rag.sentence_words import analyse

    text = "第八次全體會議。召開了。"
    hit = dataclasses.replace(
        HIT,
        chunk_id="a#0",
        article_id="a",
        title="長沙市第十三屆委員會",
        text=text,
        start=0,
        end=len(text),
        published="2019-09-24",
    )
    spans = [(0, 8), (8, 12)]
    rows = SentenceRows(
        np.zeros(2, np.int64),
        np.array([a for a, _ in spans]),
        np.array([b for _, b in spans]),
        np.zeros((2, 4), np.float16),
        tuple(analyse(text[a:b]) for a, b in spans),
        analyse(hit.title),
    )
    stored = candidates([hit], {"a": text}, {"a": rows}, 200)
    computed = candidates([hit], {"a": text}, None, 200)
    assert [s.text for s in stored] == [s.text for s in computed] == ["第八次全體會議。", "召開了。"]
    assert (
        [s.canon for s in stored] == [s.canon for s in computed] == [canonical_terms(s.text) for s in stored]
    )
    for got in (stored, computed):
        p = got[0].passage
        assert p is not None and got[1].passage is p
        assert p.canon.startswith("长沙市第13届委员会\n2019年9月24日\n第8次全会")
        assert {"了", "年", "月"} <= p.lone_chars()
    assert stored[0].words is rows.words[0]  # read, not computed
    assert computed[0].words is None  # computed only when asked for


def test_not_found_weighs_an_article_that_lacks_the_questions_proper_words() -> None:
    """A best sentence whose article never names one of the question's proper words
    (`named_miss`) needs more of everything else to answer."""
    p = Policy.load()
    assert p.not_found.named_miss < 0
    q = query(kind="other")
    ctx = boundary_ctx(p, dense=0.3, score=0.6)
    assert alone(p, q, sentence(ctx_cov=ctx + 0.05, dense=0.3, score=0.6))
    assert not alone(p, q, sentence(ctx_cov=ctx + 0.05, dense=0.3, score=0.6, named_miss=1.0))


def test_the_shipped_boundary_refuses_full_coverage_from_an_article_lacking_the_subject() -> None:
    """Fitted against look-alike questions too (bench/lookalikes.py), the boundary does not
    let the rest of the question outweigh its subject: every term found, with a high cosine,
    is still no answer when the article never names the question's proper word (长岭法院院长
    answered with another court's president). Before the look-alikes it was an answer."""
    p = Policy.load()
    q = query()
    for dense in (0.3, 0.5):
        assert alone(p, q, scored(p, q, cov=1.0, ctx_cov=1.0, dense=dense))
        assert not alone(p, q, scored(p, q, cov=1.0, ctx_cov=1.0, dense=dense, named_miss=1.0))
