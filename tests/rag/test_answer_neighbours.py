"""Reading back into the sentence before the best one, or on into the one after
(rag.answer.neighbours, the neighbour model of the policy, bench/fit_neighbours.py)."""

from __future__ import annotations

import dataclasses

import pytest

from rag.answer import (
    NEIGHBOUR_FEATURES,
    RECORDED_FEATURES,
    LinearModel,
    Policy,
    Query,
    Sentence,
    choose,
    neighbour_features,
    policy_from_dict,
    policy_to_dict,
    recorded_sentence,
)
from rag.answer.neighbours import lead, margin
from rag.sentence_words import analyse


def query(kind: str = "other") -> Query:
    return Query("q", "zh-Hans", "q", "q", kind, terms=["首都"])


def article(lines: list[tuple[int, str, float]], name: str = "a") -> list[Sentence]:
    out = []
    for start, text, score in lines:
        s = recorded_sentence(name, 0, dict.fromkeys(RECORDED_FEATURES, 0.0), text, start)
        s.score = score
        out.append(s)
    return out


def model(**weights: float) -> LinearModel:
    """A neighbour model with these weights (the rest 0) and bias -0.5: a neighbour is read
    into when the named features sum to more than a half."""
    w = dict.fromkeys(NEIGHBOUR_FEATURES, 0.0) | weights
    return LinearModel(NEIGHBOUR_FEATURES, tuple(w[f] for f in NEIGHBOUR_FEATURES), -0.5)


def with_model(m: LinearModel) -> Policy:
    return dataclasses.replace(Policy.load(), neighbour_model=m)


def lines(*sentences: tuple[str, float]) -> list[tuple[int, str, float]]:
    """Sentences one after the other (their offsets), with their scores."""
    out, at = [], 0
    for text, score in sentences:
        out.append((at, text, score))
        at += len(text)
    return out


LINES = lines(
    ("杜林曾经是欧洲重要的政治中心。", 0.30),
    ("1563年，它成为了萨伏依公国的首都。", 0.90),
    ("它后来被另一座城市取代。", 0.20),
)


def texts(p: Policy, sents: list[Sentence], kind: str = "other") -> list[str]:
    return [s.text for s in choose(p, query(kind), sents)]


def test_how_a_sentence_starts_is_read_by_part_of_speech() -> None:
    def starts(text: str) -> tuple[str, bool]:
        return lead(analyse(text).tags)

    assert starts("它成为了首都。") == ("r", True)
    assert starts("1563年，它成为了首都。") == ("m", True)  # a number first, a pronoun among the first words
    assert starts("杜林曾经是欧洲重要的政治中心。")[1] is False
    assert starts("是为重庆建城之始。")[0] == "v"  # a verb with no subject before it
    assert starts("")[0] == "other"
    # only words starting in the first LEAD_CHARS characters: a late pronoun is no pronoun lead
    assert starts("杜林曾经是欧洲重要的政治中心之一，它")[1] is False


def test_an_answer_reads_back_when_its_best_sentence_leads_with_a_pronoun() -> None:
    """The model's weights decide: a pronoun lead reads back; without that weight, or without a
    pronoun, or with no model, the best sentence stands alone."""
    back = with_model(model(best_pronoun_lead=1.0))
    assert texts(back, article(LINES)) == [LINES[0][1], LINES[1][1]]
    assert texts(with_model(LinearModel()), article(LINES)) == [LINES[1][1]]
    assert texts(with_model(model(next_pronoun_lead=1.0)), article(LINES)) == [LINES[1][1], LINES[2][1]]
    plain = lines((LINES[0][1], 0.3), ("1563年，都灵成为了萨伏依公国的首都。", 0.9))
    assert texts(back, article(plain)) == [plain[1][1]]


def test_only_an_adjacent_neighbour_within_the_length_limit_is_read_into() -> None:
    back = with_model(model(before=1.0))
    gap = [
        (0, LINES[0][1], 0.3),
        (LINES[1][0] + 3, LINES[1][1], 0.9),
    ]  # a sentence between them is not a candidate
    assert texts(back, article(gap)) == [LINES[1][1]]
    other_article = article([LINES[0]], "b") + article([LINES[1]])
    assert texts(back, other_article) == [LINES[1][1]]
    p = dataclasses.replace(
        back, compose=dataclasses.replace(back.compose, max_answer_chars=len(LINES[1][1]) + 5)
    )
    assert texts(p, article(LINES)) == [LINES[1][1]]


def test_a_list_answer_does_not_read_into_neighbours() -> None:
    back = with_model(model(before=1.0, after=1.0))
    assert texts(back, article(LINES), kind="other") == [s[1] for s in LINES]
    assert LINES[0][1] not in texts(back, article(LINES), kind="list")


def test_features_are_in_the_declared_order_and_a_mismatch_is_refused() -> None:
    s = article(LINES)
    x = neighbour_features(query("place"), s[1], s[0], True, 1)
    assert len(x) == len(NEIGHBOUR_FEATURES)
    named = dict(zip(NEIGHBOUR_FEATURES, x, strict=True))
    assert named["before"] == 1 and named["after"] == 0
    assert named["best_pronoun_lead"] == 1 and named["best_lead_m"] == 1
    assert named["kind_place"] == 1 and named["typed_best_untyped"] == 1
    assert named["neighbour_chars"] == pytest.approx(len(LINES[0][1]) / 100)
    wrong = LinearModel(("before",), (1.0,), 0.0)
    with pytest.raises(ValueError, match="fit_neighbours"):
        choose(with_model(wrong), query(), article(LINES))


def test_the_model_round_trips_and_a_broken_one_is_refused() -> None:
    shipped = Policy.load()
    raw = policy_to_dict(shipped)
    assert policy_from_dict(raw).neighbour_model == shipped.neighbour_model
    for bad in (
        {"features": ["before"], "weights": [1.0, 2.0], "bias": 0.0},
        {"features": [], "weights": []},
    ):
        with pytest.raises(ValueError, match="fit_neighbours"):
            policy_from_dict(raw | {"neighbour_model": bad})
    nan = {"features": ["before"], "weights": [float("nan")], "bias": 0.0}
    with pytest.raises(ValueError, match="finite"):
        policy_from_dict(raw | {"neighbour_model": nan})


def test_the_shipped_model_reads_back_to_what_a_pronoun_points_at() -> None:
    """The fitted weights (not hand-set ones): for a place question whose best sentence says
    它成为了……的首都, well ahead of the sentence before it that names the city, the answer
    reads back to that sentence; the margin is clearly lower when the best sentence names the
    city itself (and holds the answer type)."""
    shipped = Policy.load()
    m = shipped.neighbour_model
    assert m.weights, "the shipped policy has a neighbour model (bench/fit_neighbours.py)"
    q = query("place")

    def pair(best_text: str, best_type: float) -> list[Sentence]:
        s = article(lines((LINES[0][1], 0.3), (best_text, 0.9)))
        s[0].type_ok, s[0].cov, s[0].dense, s[0].rank = 1.0, 0.2, 0.3, -1.5
        s[1].type_ok, s[1].cov, s[1].dense, s[1].rank = best_type, 0.8, 0.5, 1.5
        return s

    pointing = pair(LINES[1][1], 0.0)
    named = pair("1563年，都灵成为了萨伏依公国的首都。", 1.0)
    assert [s.text for s in choose(shipped, q, pointing)] == [LINES[0][1], LINES[1][1]]

    def back(s: list[Sentence]) -> float:
        return margin(m.weights, m.bias, neighbour_features(q, s[1], s[0], True, 1))

    assert back(pointing) > back(named) + 0.5


def test_fit_neighbours_learns_to_read_back_where_the_gold_is() -> None:
    """bench/fit_neighbours.py: where the gold sits in the sentence before a best sentence
    that leads with a pronoun, the fitted model reads back there and only there; a median
    limit shorter than any answer leaves no model."""
    from bench.fit_neighbours import fit, rows
    from bench.fit_policy import composed
    from bench.recording import replayed

    before, pointing, named = (
        "杜林曾经是欧洲重要的政治中心。",
        "它在1563年成为了萨伏依公国的首都。",
        "都灵在1563年成为了萨伏依公国的首都。",
    )

    def row(i: int) -> dict:
        feats = dict.fromkeys(RECORDED_FEATURES, 0.0)
        best = pointing if i % 2 else named
        first = {**feats, "text": before, "start": 0, "gold": best == pointing}
        second = {**feats, "cov": 1.0, "ctx_cov": 1.0, "dense": 0.9, "text": best, "start": len(before)}
        second["gold"] = best == named
        return {
            "question": "q",
            "script": "zh-Hans",
            "kind": "place",
            "has_terms": True,
            "terms": ["首都"],
            "label": "answerable",
            "sentences": [{**s, "hit_rank": 0, "article": f"a{i}"} for s in (first, second)],
        }

    data = replayed([row(i) for i in range(40)])
    bare = dataclasses.replace(Policy.load(), neighbour_model=LinearModel())
    assert composed(bare, data)["accuracy"] == 0.5
    fitted = fit([rows(bare, data)], l2=1e-3, max_median=200, max_chars=200)
    got = composed(dataclasses.replace(bare, neighbour_model=fitted), data)
    assert got["accuracy"] == 1.0
    assert got["median_chars"] == (len(before) + len(pointing) + len(named)) / 2  # named ones stay alone
    assert fit([rows(bare, data)], l2=1e-3, max_median=len(named) - 1, max_chars=200) == LinearModel()


def test_an_english_question_never_reads_into_a_neighbour() -> None:
    """The model is fitted on Chinese questions and weighs the ranker's scores, which English
    questions do not get: their answers are the chosen sentences alone."""
    back = with_model(model(before=1.0, after=1.0))
    english = Query("q", "en", "q", "q", "other", terms=["首都"])
    assert [s.text for s in choose(back, english, article(LINES))] == [LINES[1][1]]
    assert len(choose(back, query(), article(LINES))) == 3
