"""rag.span_numbers: which numbers of a sentence are whole counts and dates."""

from rag.span_numbers import calendar_parts, counts_days, whole_expressions, within


def test_a_number_in_a_code_of_letters_and_digits_is_no_whole_number() -> None:
    def numbers(text: str) -> list[str]:
        return [text[a:b] for a, b in whole_expressions("有多少个核心？", "number", text)]

    assert numbers("新款处理器 7985WX 拥有 64 个核心，支持 DDR5 内存。") == ["64 个"]  # a model, a standard
    assert numbers("估值或超600亿美元Arm 资料图") == ["600亿美元"]  # a title run into its text
    # bare digits after a Latin word and a space: a version (a phone's, a system's), no count
    assert numbers("除了面向消费者的 SomeOS 4 之外，还有开发者版，开发者超过 220 万。") == ["220 万"]
    assert numbers("新款 Flip 5 国行版售价 7499 元。") == ["7499 元"]


def test_calendar_parts_hold_dates_and_the_pieces_of_lengths_and_ranges() -> None:
    text = "8月15日起，工期为3—5个月，全程1小时零1分钟。"
    parts = calendar_parts(text)

    def inside(piece: str) -> bool:
        at = text.index(piece)
        return within(parts, at, at + len(piece))

    assert inside("8月15日") and inside("15日")  # a day of the calendar
    assert inside("5个月") and inside("1分钟")  # a piece of a range, of a length in two units
    assert not inside("工期") and not inside("3—5个月")  # the whole range is a count


def test_a_day_alone_is_a_count_where_days_are_counted() -> None:
    text = "8月3日，警方对其处以行政拘留10日的处罚，罚款500元。"

    def numbers(days_counted: bool) -> list[str]:
        found = whole_expressions("拘留了多少天？", "number", text, days_counted=days_counted)
        return [text[a:b] for a, b in found]

    assert numbers(False) == ["500元"]  # 3日 and 10日 read as days of the month
    assert numbers(True) == ["10日", "500元"]  # 8月3日 still is one
    assert counts_days(("天", "日")) and not counts_days(("人",))


def test_a_count_in_the_units_asked_is_kept_where_the_question_writes_its_digits_as_a_time() -> None:
    """ "How much weight did he lose in 20 days?" writes 20 as days, not the 20斤 it asks; a
    count the question writes in no length of time (20 people) or in other units stays out."""
    text = "他在20天里减重20斤，体重从170斤降到150斤。"

    def numbers(question: str, units: tuple[str, ...]) -> list[str]:
        return [text[a:b] for a, b in whole_expressions(question, "number", text, units=units)]

    weight = ("斤", "公斤")
    assert numbers("How much weight did he lose in 20 days?", weight) == ["20斤", "170斤", "150斤"]
    assert numbers("How much weight did he lose in 20 days?", ()) == ["170斤", "150斤"]  # no units asked
    assert numbers("How much weight did the 20 donors lose?", weight) == ["170斤", "150斤"]  # not a time
    # a length of time asked: the question's 20 days are what it writes, not an answer
    assert numbers("How many days did he train after 20 days of rest?", ("天",)) == ["170斤", "150斤"]


def test_an_ordinal_is_no_count() -> None:
    text = "第三届论坛吸引了500名嘉宾，这是他第一次参加。"
    found = whole_expressions("How many guests attended the forum?", "number", text)
    assert [text[a:b] for a, b in found] == ["500名"]


def test_a_bare_chinese_numeral_or_one_of_a_unit_is_no_count() -> None:
    """三 of 三星 and 两 of 两岸 count nothing, nor a year without its 年 (WAIC 2023), and 一名,
    一起, 新一代 mostly say "a"; a length of time of one (一个多月, 一天) and every other count are
    counts."""
    from rag.span_numbers import no_count

    assert no_count("三") and no_count("两") and no_count("一名") and no_count("一代")
    assert not no_count("一个多月") and not no_count("一天") and not no_count("八个") and not no_count("1")
    assert no_count("2023") and not no_count("2023年") and not no_count("2600")  # a year without 年
    text = "三星新一代芯片发布，一名高管介绍，已有1200名员工参与研发。"
    found = whole_expressions("How many employees worked on the chip?", "number", text)
    assert [text[a:b] for a, b in found] == ["1200名"]


def test_a_date_that_tells_more_than_the_question_writes_is_an_answer() -> None:
    """ "On what date in 2023 …" writes the year: 2023年7月31日 tells the day too and is a
    candidate, as 7月28日 is; a date the question writes whole (8月1日 of "on August 1") is none."""
    text = "2023年7月31日，会议在京召开。7月28日发布通知。8月1日起施行。"
    found = [text[a:b] for a, b in whole_expressions("On what date in 2023 was it held? 2023", "date", text)]
    assert found == ["2023年7月31日", "7月28日", "8月1日"]
    asked = [text[a:b] for a, b in whole_expressions("What began on 8月1日?", "date", text)]
    assert "8月1日" not in asked and "2023年7月31日" in asked
