"""rag.entities: what a text names (people, places, organisations, meetings, dates; an English
text's capitalised names)."""

from __future__ import annotations

from rag.entities import Entities, add_new, entities


def test_entities_finds_people_meetings_places_and_dates() -> None:
    ent = entities("2019年9月24日，中共长沙市第十三届委员会第八次全体会议召开，胡衡华发表讲话。")
    assert "胡衡华" in ent.people
    assert "十三届八次全会" in ent.meetings  # the long form, shown in the short form
    assert "长沙市" in ent.places or "长沙" in ent.places
    assert "2019年9月24日" in ent.dates
    # Traditional text: found on the Simplified form
    assert entities("省委常委、長沙市委書記胡衡華").people == ["胡衡华"]
    assert entities("中共长沙市委十三届十一次全体会议暨经济工作会议").meetings == [
        "十三届十一次全会",
        "经济工作会议",
    ]
    assert entities("这次全会有哪些人出席？").meetings == []  # a demonstrative, not a name


def test_english_names_and_the_context_put_before_a_question() -> None:
    ent = entities("What did Hu Henghua say at the Changsha plenary session in 2020?")
    assert "Hu Henghua" in ent.names and "Changsha" in ent.names
    assert "What" not in " ".join(ent.names)  # a question word is no name
    assert "2020" in ent.dates
    merged = Entities(people=["胡衡华"], meetings=["十三届八次全会"])
    merged.merge(Entities(people=["胡衡华", "程水泉"], places=["长沙"]))
    assert merged.people == ["胡衡华", "程水泉"]  # each once, in order of appearance
    # the meeting first; a place only without an organisation or a meeting
    assert merged.context(3) == ["十三届八次全会", "胡衡华", "程水泉"]
    out = ["甲"]
    add_new(out, ["", "甲", "乙"])
    assert out == ["甲", "乙"]
