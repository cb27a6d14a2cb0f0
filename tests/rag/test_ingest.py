"""Ingestion: the seeds' layout, encodings, broken files, JSON records, directories, ids."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from rag.errors import DecodeError
from rag.ingest import decode_text, parse_bytes, parse_records, read_paths
from rag.records import Article, IngestResult

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SIMPLIFIED = SEEDS / "000_c96f0316381136be.txt"
TRADITIONAL = SEEDS / "003_f796007d3590bde0.txt"


def _by_id(result: IngestResult) -> dict[str, Article]:
    return {a.id: a for a in result.articles}


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    result = read_paths([SEEDS])
    assert result.errors == []
    return _by_id(result)


def _traditional_main_text() -> str:
    """Seed 003 without its related items (that part has characters Big5 cannot encode)."""
    return TRADITIONAL.read_text(encoding="utf-8").split("相關焦點")[0]


# --------------------------------------------------------------------------- the seeds


def test_simplified_seed_header_and_body(seeds: dict[str, Article]) -> None:
    art = seeds["000_c96f0316381136be"]
    assert art.title == "奋力开创制造业高质量发展新局面"
    assert art.published == "2019-09-25T12:55:03"
    assert art.source == "华夏经纬网"
    assert art.parent_id is None
    assert art.path == str(SIMPLIFIED)
    assert art.text.startswith("胡衡华受市委常委会委托向全会报告工作 胡忠雄出席\n审议通过《中共长沙市委")
    assert art.text.endswith("以优异成绩向新中国成立70周年献礼！\n（长沙市台办供稿）")
    assert "市领导朱健、程水泉、文树勋" in art.text
    # the byline is split over two lines in the file and kept as body text
    assert "长沙晚报9月24日讯（全媒体记者\n凌晴）今天" in art.text
    # page debris and the header are gone; lines are stripped, no blank lines
    assert "|" not in art.text and "---" not in art.text
    assert "华夏经纬网" not in art.text and "2019-09-25" not in art.text
    lines = art.text.split("\n")
    assert all(line and line == line.strip() for line in lines)


def test_traditional_seed_header_body_and_script(seeds: dict[str, Article]) -> None:
    art = seeds["003_f796007d3590bde0"]
    assert art.title == "...指示精神引領長沙高質量發展——訪省委常委、長沙市委書記胡衡華"
    assert art.published == "2020-12-05"
    assert art.source == "星辰在線"
    assert art.text.startswith(
        "以習近平總書記重要講話指示精神引領長沙高質量發展\n——訪省委常委、長沙市委書記胡衡華\n"
    )
    assert "\n湖南日報記者 曹輝 張頤佳\n(刊載於《湖南日報》2020年9月28日03版)\n" in art.text
    assert art.text.endswith("以更大擔當更大作為回報總書記和黨中央的關懷厚望。")
    # stored in its original script: no conversion to Simplified
    assert "長沙市委書記" in art.text and "长沙市委书记" not in art.text
    # the related-items section was cut off
    assert "相關焦點" not in art.text
    assert "•" not in art.text and "鄭學選" not in art.text


def test_traditional_seed_related_items(seeds: dict[str, Article]) -> None:
    items = [a for a in seeds.values() if a.parent_id == "003_f796007d3590bde0"]
    assert len(items) == 17
    assert [a.id for a in items] == [f"003_f796007d3590bde0/rel-{k}" for k in range(1, 18)]
    by_k = {int(a.id.rsplit("-", 1)[1]): a for a in items}

    first = by_k[1]
    assert first.title == "鄭學選會見湖南省委常委、長沙市委書記胡衡華"
    assert first.published == "2020-08-13T19:55"
    assert first.source == "澎湃新聞·澎湃號·政務"
    assert first.text == (
        "鄭學選會見湖南省委常委、長沙市委書記胡衡華\n"
        "鄭學選會見湖南省委常委、長沙市委書記胡衡華 2020-08-13 19:55 來源:澎湃新聞·澎湃號·政務"
    )

    second = by_k[2]
    assert "調任陝西省委副書記" in second.title
    assert second.text.startswith(second.title + "\n陝西省委書記劉國中出席大會並講話")
    # no date or outlet in its snippet: nothing inherited from the parent (a different story)
    assert second.published is None and second.source is None

    third = by_k[3]
    assert third.source == "中國網地產" and third.published is None
    assert by_k[12].published == "2020-03-12T15:16"
    assert by_k[9].text.split("\n")[1].startswith(">審議通過")  # a quote mark is not a bullet
    for item in items:
        assert item.path == str(TRADITIONAL)
        assert "•" not in item.title and item.title == item.title.strip()
        assert item.text.split("\n")[0] == item.title
        assert item.published != "2020-12-05" and item.source != "星辰在線"


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_simplified_seed_in_every_encoding(encoding: str, seeds: dict[str, Article]) -> None:
    data = SIMPLIFIED.read_text(encoding="utf-8").encode(encoding, errors="strict")
    result = parse_bytes(SIMPLIFIED.name, data)
    assert result.errors == []
    (art,) = result.articles
    expected = seeds["000_c96f0316381136be"]
    assert (art.id, art.title, art.text, art.published, art.source) == (
        expected.id,
        expected.title,
        expected.text,
        expected.published,
        expected.source,
    )


@pytest.mark.parametrize("encoding", ["big5", "cp950", "utf-8-sig", "gb18030"])
def test_traditional_text_in_every_encoding(encoding: str) -> None:
    text = _traditional_main_text()
    data = text.encode(encoding, errors="strict")
    assert decode_text(data, "x.txt") == text
    (art,) = parse_bytes("trad.txt", data).articles
    assert art.title.endswith("長沙市委書記胡衡華") and art.source == "星辰在線"
    assert art.text.endswith("回報總書記和黨中央的關懷厚望。")


def test_gbk_and_big5_are_told_apart_line_by_line() -> None:
    """Short lines are often valid in both codecs; the plausibility score must still pick right."""
    cases = [(line, "gbk") for line in SIMPLIFIED.read_text(encoding="utf-8").splitlines()]
    cases += [(line, "big5") for line in _traditional_main_text().splitlines()]
    checked = 0
    for line, encoding in cases:
        if not line.strip() or line.isascii():
            continue
        assert decode_text(line.encode(encoding), "line.txt") == line, (encoding, line[:20])
        checked += 1
    assert checked > 40


def test_decode_text_errors_say_what_to_do() -> None:
    with pytest.raises(DecodeError, match=r"a\.txt: empty file"):
        decode_text(b" \n\t\r\n", "a.txt")
    with pytest.raises(DecodeError, match="empty file"):
        decode_text(b"", "a.txt")
    with pytest.raises(DecodeError, match="not a text file"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "img.txt")
    with pytest.raises(DecodeError, match="not a text file"):
        decode_text(bytes(range(1, 9)) * 50, "ctl.txt")
    with pytest.raises(DecodeError, match="UTF-8, GB18030 or Big5") as info:
        decode_text(bytes(range(0x80, 0x100)) * 4, "garbage.txt")
    assert "save it as UTF-8" in info.value.message
    # valid GB18030 byte pairs, but only private-use/rare characters: not text
    rare = bytes(b for lead in range(0xF8, 0xFF) for trail in range(0xA1, 0xFF, 7) for b in (lead, trail))
    with pytest.raises(DecodeError, match="rare characters"):
        decode_text(rare, "rare.txt")


# --------------------------------------------------------------------------- broken files in a batch


def test_broken_files_are_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_bytes(b"  \n \n")
    (tmp_path / "garbage.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "debris.txt").write_text("|  |  |\n---\n", encoding="utf-8")
    missing = tmp_path / "nope.txt"
    result = read_paths([tmp_path, SIMPLIFIED, missing])

    assert [a.id for a in result.articles] == ["000_c96f0316381136be"]
    reasons = {Path(e.path).name: e.reason for e in result.errors}
    assert set(reasons) == {
        "binary.txt",
        "empty.txt",
        "blank.md",
        "garbage.txt",
        "report.pdf",
        "debris.txt",
        "nope.txt",
    }
    assert "not a text file" in reasons["binary.txt"]
    assert "empty file" in reasons["empty.txt"] and "empty file" in reasons["blank.md"]
    assert "UTF-8, GB18030 or Big5" in reasons["garbage.txt"]
    assert reasons["report.pdf"].startswith(
        "unsupported file type .pdf; use .txt, .md, .json, .jsonl, .jsonl.gz"
    )
    assert "debris" in reasons["debris.txt"]
    assert "no such file" in reasons["nope.txt"]
    assert all(e.path for e in result.errors)


def test_too_big_file_names_the_limit_and_how_to_split(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("标题\n" + "正文。" * 100, encoding="utf-8")
    (err,) = read_paths([big], max_bytes=100).errors
    assert err.path == str(big)
    assert "100-byte limit" in err.reason and "split" in err.reason
    (err,) = parse_bytes("big.jsonl", b"{}\n" * 100, max_bytes=10).errors
    assert "10-byte limit" in err.reason and "split -l" in err.reason


def test_unsupported_upload_and_upload_path_names() -> None:
    (err,) = parse_bytes("notes.docx", b"PK\x03\x04").errors
    assert err.path == "notes.docx" and "unsupported file type .docx" in err.reason
    (art,) = parse_bytes("C:\\Users\\me\\今日新闻.txt", "标题\n正文第一行".encode()).articles
    assert art.id == "今日新闻" and art.title == "标题" and art.text == "正文第一行"


# --------------------------------------------------------------------------- JSONL / JSON / records


def _jsonl_lines() -> list[str]:
    return [
        json.dumps({"id": "a1", "title": "甲", "text": "第一篇正文。", "published": "2023-08-16 18:24:57"}),
        '{"id": "broken", "text": "unterminated',
        json.dumps(
            {"id": 7, "text": "第二篇正文。\n第二行。", "source": "新华网", "url": "https://example.org/7"}
        ),
        "",
        "[1, 2]",
        json.dumps({"text": "没有编号的文章\n正文。"}, ensure_ascii=False),
    ]


def _check_jsonl_result(result: IngestResult, origin: str) -> None:
    arts = _by_id(result)
    assert set(arts) >= {"a1", "7"} and len(arts) == 3
    assert arts["a1"].title == "甲" and arts["a1"].published == "2023-08-16T18:24:57"
    assert arts["7"].source == "新华网" and arts["7"].url == "https://example.org/7"
    assert arts["7"].title == "第二篇正文。"  # default title: first line of the text
    hashed = next(a for a in result.articles if a.id not in ("a1", "7"))
    assert re.fullmatch(r"h[0-9a-f]{16}", hashed.id) and hashed.title == "没有编号的文章"
    assert all(a.path == origin for a in result.articles)
    errors = {e.line: e for e in result.errors}
    assert set(errors) == {2, 5}
    assert "malformed JSON" in errors[2].reason and "fix or remove" in errors[2].reason
    assert "JSON object" in errors[5].reason and "an array" in errors[5].reason
    assert all(e.path == origin for e in result.errors)


def test_jsonl_with_a_malformed_line(tmp_path: Path) -> None:
    data = "\n".join(_jsonl_lines()).encode("utf-8")
    path = tmp_path / "batch.jsonl"
    path.write_bytes(data)
    _check_jsonl_result(read_paths([path]), str(path))
    _check_jsonl_result(parse_bytes("batch.jsonl", data), "batch.jsonl")


def test_jsonl_gz_with_a_malformed_line(tmp_path: Path) -> None:
    data = gzip.compress("\n".join(_jsonl_lines()).encode("utf-8"))
    path = tmp_path / "batch.jsonl.gz"
    path.write_bytes(data)
    _check_jsonl_result(read_paths([path]), str(path))
    _check_jsonl_result(parse_bytes("batch.jsonl.gz", data), "batch.jsonl.gz")
    # gzip is recognised by its magic bytes even when the name does not say so
    _check_jsonl_result(parse_bytes("batch.jsonl", data), "batch.jsonl")


def test_truncated_gzip_keeps_the_lines_before_the_damage() -> None:
    lines = [
        json.dumps({"id": f"n{i}", "text": f"第{i}篇：" + "长沙" * (i % 50 + 1) + str(i * 7919)})
        for i in range(3000)
    ]
    data = gzip.compress("\n".join(lines).encode("utf-8"))
    result = parse_bytes("cut.jsonl.gz", data[: len(data) // 2])
    assert 0 < len(result.articles) < 3000
    (err,) = result.errors
    assert "truncated" in err.reason and "gzip" in err.reason


def test_records_with_wrong_types() -> None:
    records: list = [
        {"id": "ok", "text": "好的文章。"},
        {"title": "无正文"},
        {"text": 42},
        {"text": "   "},
        {"text": "有正文", "title": ["列表"]},
        {"text": "有正文", "id": {"x": 1}},
        {"text": "有正文", "published": 20230816},
        {"text": "有正文", "id": True},
        "just a string",
        {"id": 99, "text": "另一篇", "published": "2023-08-16T18:24:57+08:00"},
    ]
    result = parse_records(records, "api")
    assert [a.id for a in result.articles] == ["ok", "99"]
    assert result.articles[1].published == "2023-08-16T18:24:57"
    errors = {e.line: e.reason for e in result.errors}
    assert set(errors) == set(range(2, 10))
    assert all(e.path == "api" for e in result.errors)
    assert '"text"' in errors[2] and "no" in errors[2]
    assert '"text" must be a string, got a number' in errors[3]
    assert '"text" is empty' in errors[4]
    assert '"title" must be a string' in errors[5]
    assert '"id" must be a string or an integer, got an object' in errors[6]
    assert '"published" must be a string' in errors[7]
    assert '"id"' in errors[8] and "boolean" in errors[8]
    assert "JSON object" in errors[9]


def test_record_titles_and_content_ids() -> None:
    long_line = "长" * 200
    (art,) = parse_records([{"text": f"  {long_line}\n第二行"}], "api").articles
    assert art.title == "长" * 80 and art.text == f"{long_line}\n第二行"
    one = parse_records([{"text": "同样的内容", "title": "题"}], "a").articles[0]
    same = parse_records([{"text": "同样的内容", "title": "题"}], "b").articles[0]
    other = parse_records([{"text": "不同的内容", "title": "题"}], "a").articles[0]
    assert one.id == same.id != other.id


def test_json_file_list_or_articles_object(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text(
        json.dumps([{"id": "l1", "text": "甲"}, {"id": "l2"}]), encoding="utf-8"
    )
    (tmp_path / "obj.json").write_text(
        json.dumps({"articles": [{"id": "o1", "text": "乙"}]}), encoding="utf-8"
    )
    (tmp_path / "bad.json").write_text(json.dumps({"items": []}), encoding="utf-8")
    (tmp_path / "syntax.json").write_text('[{"id": "s1", "text": "丙"', encoding="utf-8")
    result = read_paths([tmp_path])
    assert sorted(a.id for a in result.articles) == ["l1", "o1"]
    reasons = {(Path(e.path).name, e.line): e.reason for e in result.errors}
    assert '"text"' in reasons[("list.json", 2)]
    assert '{"articles": [...]}' in reasons[("bad.json", None)]
    assert any(name == "syntax.json" and "invalid JSON" in r for (name, _), r in reasons.items())


def test_duplicate_ids_in_one_batch_are_reported(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.txt").write_text(f"标题{sub}\n正文{sub}", encoding="utf-8")
    result = read_paths([tmp_path])
    assert [a.text for a in result.articles] == ["正文a"]
    (err,) = result.errors
    assert err.path.endswith("same.txt") and "duplicate article id 'same'" in err.reason


# --------------------------------------------------------------------------- text layout


def test_plain_text_and_markdown_without_header() -> None:
    (art,) = parse_bytes("plain.txt", "  第一行是标题  \n\n第二行\n   第三行  \n".encode()).articles
    assert (art.title, art.text, art.published, art.source) == ("第一行是标题", "第二行\n第三行", None, None)
    (art,) = parse_bytes("one.txt", "只有一行".encode()).articles
    assert art.title == "只有一行" and art.text == "只有一行"
    (art,) = parse_bytes("note.md", "# Markdown 标题\n\n正文段落。\n\n---\n".encode()).articles
    assert art.id == "note" and art.title == "Markdown 标题" and art.text == "正文段落。"
    # a body that starts with a dated sentence is not a header
    (art,) = parse_bytes("d.txt", "标题\n2020年12月5日，长沙召开大会。\n正文。".encode()).articles
    assert art.published is None and art.text.startswith("2020年12月5日，长沙召开大会。")
    (art,) = parse_bytes("h.txt", "标题\n2020年12月5日 08:30 来源：新华网\n正文。".encode()).articles
    assert (art.published, art.source, art.text) == ("2020-12-05T08:30", "新华网", "正文。")


def test_related_section_variants() -> None:
    text = "标题\n2021-01-02 某报\n正文一。\n相关阅读\n- 第一条相关\n来源：新华网 1月1日消息\n- 第二条相关\n第二条摘要 2021-01-01 09:10\n"
    arts = parse_bytes("r.txt", text.encode()).articles
    assert [a.id for a in arts] == ["r", "r/rel-1", "r/rel-2"]
    assert arts[0].text == "正文一。"
    assert (arts[1].title, arts[1].source, arts[1].published) == ("第一条相关", "新华网", None)
    assert arts[1].text == "第一条相关\n来源：新华网 1月1日消息"
    assert (arts[2].published, arts[2].source) == ("2021-01-01T09:10", None)
    # without bullets, each line is an item of its own
    arts = parse_bytes("n.txt", "标题\n正文。\n相關新聞\n其一\n其二\n".encode()).articles
    assert [(a.id, a.title, a.parent_id) for a in arts[1:]] == [
        ("n/rel-1", "其一", "n"),
        ("n/rel-2", "其二", "n"),
    ]


def test_hostile_markup_is_kept_as_text() -> None:
    hostile = '<script>alert("x")</script>\n<img src=x onerror=alert(1)>\n{{7*7}} ${jndi:ldap://x} \'; DROP TABLE articles; --'
    (art,) = parse_bytes("evil.md", hostile.encode()).articles
    assert art.title == '<script>alert("x")</script>'
    assert art.text == "<img src=x onerror=alert(1)>\n{{7*7}} ${jndi:ldap://x} '; DROP TABLE articles; --"
    (rec,) = parse_records([{"title": "<b>t</b>", "text": "<script>x</script>"}], "api").articles
    assert rec.title == "<b>t</b>" and rec.text == "<script>x</script>"


# --------------------------------------------------------------------------- directories and ids


def test_directory_recursion_sorted_and_hidden_skipped(tmp_path: Path) -> None:
    (tmp_path / "z.txt").write_text("Z 标题\n正文", encoding="utf-8")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "b.md").write_text("# B\n正文", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "a.txt").write_text("A\n正文", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("隐藏\n正文", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text("隐藏目录\n正文", encoding="utf-8")
    result = read_paths([str(tmp_path)])
    assert result.errors == []
    assert [a.id for a in result.articles] == [
        "b",
        "a",
        "z",
    ]  # sorted by path: sub/b.md, sub/deeper/a.txt, z.txt
    # a path given twice (directly and through its folder) is read once
    again = read_paths([tmp_path / "z.txt", tmp_path])
    assert [a.id for a in again.articles] == ["z", "b", "a"] and again.errors == []


def test_ids_are_stable_and_edits_replace(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text("标题\n2020-01-01 某报\n第一版正文。", encoding="utf-8")
    first = read_paths([path]).articles[0]
    second = read_paths([path]).articles[0]
    assert first == second and first.content_hash == second.content_hash
    path.write_text("标题\n2020-01-01 某报\n修改后的正文。", encoding="utf-8")
    edited = read_paths([path]).articles[0]
    assert edited.id == first.id == "story" and edited.content_hash != first.content_hash
    seed_twice = [read_paths([TRADITIONAL]).articles for _ in range(2)]
    assert [a.id for a in seed_twice[0]] == [a.id for a in seed_twice[1]]
    assert [a.content_hash for a in seed_twice[0]] == [a.content_hash for a in seed_twice[1]]


# ---------------------------------------------------------------- limits and hostile files


def test_jsonl_in_gb18030_and_big5_is_decoded_like_text_files() -> None:
    import json as _json

    for encoding, text in (
        ("gb18030", "长沙市委召开全体会议，审议通过了决定。"),
        ("big5", "長沙市委召開全體會議，審議通過了決定。"),
    ):
        data = (
            _json.dumps(
                {"id": "a", "title": "标题" if encoding == "gb18030" else "標題", "text": text},
                ensure_ascii=False,
            )
            + "\n"
        ).encode(encoding)
        result = parse_bytes(f"legacy-{encoding}.jsonl", data)
        assert not result.errors, result.errors
        assert result.articles[0].text == text


def test_lone_surrogate_lines_are_reported_and_good_lines_kept() -> None:
    data = b'{"id": "ok", "text": "good"}\n{"id": "bad", "text": "\\ud800"}\n{"id": "ok2", "text": "also good"}\n'
    result = parse_bytes("s.jsonl", data)
    assert [a.id for a in result.articles] == ["ok", "ok2"]
    (err,) = result.errors
    assert err.line == 2 and "surrogate" in err.reason


def test_ids_over_the_limit_are_refused_on_the_way_in() -> None:
    from rag.ingest import MAX_ID_CHARS

    result = parse_records(
        [{"id": "x" * (MAX_ID_CHARS + 1), "text": "正文"}, {"id": "y" * MAX_ID_CHARS, "text": "正文"}], "req"
    )
    assert [len(a.id) for a in result.articles] == [MAX_ID_CHARS]
    assert str(MAX_ID_CHARS) in result.errors[0].reason


def test_bombs_are_cut_off_by_size_as_they_stream() -> None:
    import gzip as _gzip

    from rag.ingest import IngestLimits

    limits = IngestLimits(max_file_bytes=4 << 20, max_line_bytes=1 << 20)
    newlines = _gzip.compress(b'{"text": "ok"}\n' + b"\n" * (16 << 20))
    result = parse_bytes("n.jsonl.gz", newlines, limits=limits)
    assert len(result.articles) == 1 and "after decompression" in result.errors[0].reason
    zeros = _gzip.compress(b"\0" * (16 << 20))
    (err,) = parse_bytes("z.jsonl.gz", zeros, limits=limits).errors
    assert "longer than" in err.reason and err.line == 1
    (err,) = parse_bytes("z.json", zeros, limits=limits).errors
    assert "NUL" in err.reason
    (err,) = parse_bytes("long.txt", ("标题\n" + "长" * (1 << 20)).encode(), limits=limits).errors
    assert "characters" in err.reason


def test_the_shared_budget_refuses_what_concurrent_parses_cannot_hold() -> None:
    from rag.ingest import ByteBudget, IngestLimits

    budget = ByteBudget(1 << 20)
    limits = IngestLimits(budget=budget)
    assert budget.take(1 << 20)  # another upload holds it all
    (err,) = parse_bytes("a.txt", "标题\n正文".encode(), limits=limits).errors
    assert "ZHIWEN_DECOMPRESS_BUDGET_MB" in err.reason
    budget.give(1 << 20)
    assert parse_bytes("a.txt", "标题\n正文".encode(), limits=limits).articles
    assert budget.used == 0  # given back when the file is done


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    import os

    (tmp_path / "good.txt").write_text("标题\n正文", "utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    result = read_paths([tmp_path])
    assert [a.title for a in result.articles] == ["标题"]
    reasons = {Path(e.path).name: e.reason for e in result.errors}
    assert "FIFO" in reasons["pipe.txt"] and "device" in reasons["zero.txt"]
    assert "link" in reasons["a.txt"] and "link" in reasons["b.txt"]
