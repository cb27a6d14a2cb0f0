"""rag.bylines: news credits, and what answering makes of them (sentences written for these
tests, in the forms Chinese news credits its reporters)."""

from __future__ import annotations

import pytest

from rag.answer import Policy, analyse
from rag.answer.candidates import RECORDED_FEATURES, recorded_sentence
from rag.answer.features import type_feature
from rag.bylines import credits, outside_credits
from rag.postag import tagged
from rag.span_features import candidates
from rag.span_rank import best_span


def _credited(text: str) -> list[str]:
    return [text[a:b] for a, b in credits(text, tagged(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新华社北京3月5日电 (记者 刘明)国务院今天召开会议。", ["记者 刘明"]),
        ("（本网通讯员：王晓雪 李雅琴）市法院开展培训。", ["通讯员：王晓雪 李雅琴"]),
        ("（记者 张强 通讯员 赵丽华）8月14日上午，", ["记者 张强 通讯员 赵丽华"]),
        ("晚报新闻记者 周雅文 8月12日，", ["新闻记者 周雅文"]),
        ("责任编辑：王晓", ["责任编辑：王晓"]),
        ("（记者李明）今天上午，", ["记者李明"]),  # in parentheses, nothing between is needed
        ("韦立新 摄 7月27日，工人们在装配。", ["韦立新 摄"]),
        # a caption run on into the next paragraph, nothing between
        ("日报记者韦立新 摄今年6月，该公司提出了申请。", ["韦立新 摄"]),
        ("集微网消息（文/林晓华）8月11日，", ["文/林晓华"]),  # a short role and a slash
        ("图/王强 工人们在装配。", ["图/王强"]),
    ],
)
def test_a_credit_is_a_role_and_the_names_written_apart_from_it(text: str, expected: list[str]) -> None:
    assert _credited(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "美国记者斯诺访问了延安。",  # the story's own person: the role runs into the name
        "记者了解到，张三表示同意。",
        "张三摄影作品展昨天开幕。",
        "李四摄于2020年的照片。",
        "论文/张三的研究",  # 文 inside a word is no role
    ],
)
def test_a_role_word_in_the_story_is_no_credit(text: str) -> None:
    assert _credited(text) == []


def test_outside_credits_drops_the_spans_that_overlap_one() -> None:
    assert outside_credits([(0, 2), (3, 5), (6, 9)], [(4, 7)]) == [(0, 2)]
    assert outside_credits([(0, 2)], []) == [(0, 2)]


def _sentence(text: str):
    return recorded_sentence("a", 0, dict.fromkeys(RECORDED_FEATURES, 0.0), text)


def test_a_reporters_name_is_no_person_for_the_answer_type() -> None:
    """A "who" question earns the answer-type feature from a sentence naming someone of the
    story, not from its byline: the lead sentence of a report credits its reporter."""
    types = Policy.load().types
    q = analyse("谁当选为协会会长？")
    assert q.kind == "person"
    assert type_feature(q, _sentence("新华社北京3月5日电 (记者 刘明)协会今天召开换届大会。"), types) == 0.0
    assert (
        type_feature(q, _sentence("新华社北京3月5日电 (记者 刘明)协会今天选举王建国为会长。"), types) == 1.0
    )


def test_a_short_answer_is_never_a_credit() -> None:
    policy = Policy.load()
    question = "谁为工人们讲授了安全知识？"
    sentence = "（本网通讯员：王晓雪 李雅琴）8月2日，市应急中心讲师赵海峰为工人们讲授了安全知识。"
    found = candidates(question, "person", sentence, policy.spans)
    start = sentence.index("王晓雪")
    assert found.spans and not any(a < start + 7 and start < b for a, b in found.spans)
    span = best_span(question, "person", sentence, policy.spans, policy.span_model)
    assert span is not None and sentence[span[0] : span[1]] == "赵海峰"


def test_a_question_about_the_credits_is_answered_from_them() -> None:
    policy = Policy.load()
    question = "这篇报道的记者是谁？"
    sentence = "新华社北京3月5日电 (记者 刘明)协会今天召开换届大会。"
    assert type_feature(analyse(question), _sentence(sentence), policy.types) == 1.0
    span = best_span(question, "person", sentence, policy.spans, policy.span_model)
    assert span is not None and sentence[span[0] : span[1]] == "刘明"
