"""HWP 5.x and HWPX ingest on real Korean government files (fixtures) and broken ones.

digital_gov_plan_2019.hwp.gz is ../shared/realdata/hwp/디지털 정부혁신 추진계획.hwp with its embedded
images zeroed (same streams, same sizes, text untouched) and gzipped, so it fits in the repository.
"""
from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from ingest import hwp_reader
from ingest.hwp_reader import read_hwp
from ingest.models import Chunk, DocumentMeta, Grid
from ingest.pipeline import ingest_corpus, ingest_file, ingest_paths

from .conftest import FIXTURES, REALDATA

HWP_NAME = "디지털 정부혁신 추진계획.hwp"
GRADES = FIXTURES / "grades_table.hwpx"
ORDINANCE = FIXTURES / "ulsan_namgu_ordinance.hwpx"
SCHEDULE_ROW = "스마트폰을 통한 전자증명서 발급·유통"


@pytest.fixture(scope="module")
def hwp_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hwp") / HWP_NAME
    with gzip.open(FIXTURES / "digital_gov_plan_2019.hwp.gz") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


@pytest.fixture(scope="module")
def hwp_chunks(hwp_path) -> list[Chunk]:
    chunks, stats = ingest_file(hwp_path, DocumentMeta(file=HWP_NAME, title="디지털 정부혁신 추진계획"))
    assert stats.pages == 21  # cover + contents + 19 numbered pages, as the table of contents implies
    return chunks


def _cell(chunk: Chunk, row_label: str, column: str, nth: int = 0) -> str:
    j = chunk.columns.index(column)
    rows = [r for r in chunk.rows if r.header == row_label]
    return rows[nth].values[j - 1]


def _table_with(chunks: list[Chunk], row_label: str) -> Chunk:
    return next(c for c in chunks if c.kind == "table" and any(r.header == row_label for r in c.rows))


# ------------------------------------------------------------------ HWP 5.x
def test_hwp_schedule_table_merged_headers_and_cells(hwp_chunks):
    table = _table_with(hwp_chunks, SCHEDULE_ROW)
    assert table.caption == "주요 과제별·연도별 추진일정"
    assert table.page == 8
    # Three header rows under a top-left cell spanning them fold into header paths; the two label
    # columns under "추진 과제" fold into one row label.
    assert table.columns[0] == "추진 과제"
    assert table.columns[1:3] == ["추진일정 2019 상", "추진일정 2019 하"]
    assert table.columns[-1] == "관계 부처"
    assert _cell(table, SCHEDULE_ROW, "추진일정 2019 하") == "시범"
    assert _cell(table, SCHEDULE_ROW, "추진일정 2020 하") == "100종"
    assert _cell(table, SCHEDULE_ROW, "추진일정 2021 하") == "300종"
    assert _cell(table, SCHEDULE_ROW, "추진일정 2020 상") == ""  # a merged span does not leak into its neighbour
    assert _cell(table, SCHEDULE_ROW, "관계 부처") == "행안부"
    assert f"{SCHEDULE_ROW}: 추진일정 2019 하 = 시범" in table.search_text


def test_hwp_row_spanning_label_repeats_on_each_row(hwp_chunks):
    table = _table_with(hwp_chunks, "생애주기 서비스 대폭 확대")
    rows = [r for r in table.rows if r.header == "생애주기 서비스 대폭 확대"]
    assert len(rows) == 2  # the label cell spans the plan row and its note row
    assert _cell(table, "생애주기 서비스 대폭 확대", "추진일정 2022 하") == "10개"
    assert _cell(table, "생애주기 서비스 대폭 확대", "관계 부처", nth=1) == "행안‧복지‧\n교육‧고용부 등"  # cell lines kept, as in PDF cells


def test_hwp_sections_and_pages_from_outline_and_layout(hwp_chunks):
    background = next(c for c in hwp_chunks if c.kind == "text" and "세계 최고수준의 전자정부" in c.text)
    assert background.page == 3 and background.section == "I. 개요 > 추진 배경"
    certificate = next(c for c in hwp_chunks if c.kind == "text" and "(전자증명서) 스마트폰" in c.text)
    assert certificate.page == 5 and certificate.section.startswith("II. 디지털 정부혁신 추진계획")
    annex = next(c for c in hwp_chunks if c.kind == "text" and "디지털 정부혁신 우선 추진과제(상세)" in c.text and c.page != 2)
    assert annex.page == 10  # the contents page says "[붙임] ... 8": two pages (cover, contents) before page 1


def test_hwp_title_frames_become_text_not_tables(hwp_path):
    blocks, pages = read_hwp(hwp_path)
    grids = [b for b in blocks if isinstance(b, Grid)]
    # 65 tables in the file, but one-cell title bars and banners are layout frames around text.
    assert len(grids) == 2 and pages == 21
    texts = [b.text for b in blocks if not isinstance(b, Grid)]
    assert "Ⅰ. 개 요" in texts and "Ⅱ. 디지털 정부혁신 추진계획" in texts
    assert not any("翌" in t or "\t" in t for t in texts)  # tab payloads are not text


def test_hwp_page_header_stays_out_of_the_body_and_footnote_follows_its_paragraph():
    # No sample has a page header or footnote, so the records are built by hand: a body paragraph
    # holding a header control and a footnote control, each with its own paragraph list.
    def para(level: int, text: str) -> list[tuple[int, int, bytes]]:
        return [(66, level, bytes(24)), (67, level + 1, (text + "\r").encode("utf-16-le"))]

    def control(code: bytes, level: int, text: str) -> list[tuple[int, int, bytes]]:
        return [(71, level, code[::-1] + bytes(8)), (72, level + 1, bytes(16)), *para(level + 1, text)]

    records = [*para(0, "본문 문단"), *control(b"head", 1, "머리말 반복"), *control(b"fn  ", 1, "각주 내용"),
               *control(b"tbl ", 1, "")[:1], *para(0, "다음 문단")]
    items, _ = hwp_reader._hwp5_list(records, 0, 0, hwp_reader._Pager())
    texts = [i.text for i in items if isinstance(i, hwp_reader._Para)]
    assert texts == ["본문 문단", "각주 내용", "다음 문단"]


# ------------------------------------------------------------------ HWPX
def test_hwpx_grades_table_cells():
    chunks, stats = ingest_file(GRADES, DocumentMeta(file=GRADES.name, title="C반 기말고사"))
    table = next(c for c in chunks if c.kind == "table")
    assert table.columns == ["이름", "국어", "영어", "수학"]
    assert _cell(table, "개똥이", "국어") == "89"
    assert _cell(table, "개똥이", "수학") == "78"
    assert _cell(table, "칠득이", "영어") == "77"
    assert table.page == 1 and stats.pages == 1


def test_hwpx_ordinance_pages_sections_and_comparison_table():
    chunks, stats = ingest_file(ORDINANCE, DocumentMeta(file=ORDINANCE.name, title="남구 구세 조례"))
    assert stats.pages == 4 and stats.tables == 1
    table = next(c for c in chunks if c.kind == "table")
    assert table.page == 4 and table.columns == ["현행", "개정안"]
    assert _cell(table, "제1절 재산분", "개정안") == "제1절 사업소분"
    reason = next(c for c in chunks if c.kind == "text" and "주민세 과세체계의 개편" in c.text)
    assert reason.page == 1 and reason.section == "1. 개정이유"
    opinion = next(c for c in chunks if c.kind == "text" and "5. 의견제출" in c.text)
    assert opinion.page == 2  # the file's saved layout starts a new page here


def test_hwpx_page_header_skipped_footnote_and_text_box_kept(tmp_path):
    # No sample has a page header or footnote: a minimal package in the layout Hangul writes.
    hp = 'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'

    def para(body: str, vertpos: int = 0) -> str:
        return f'<hp:p><hp:run>{body}</hp:run><hp:linesegarray><hp:lineseg vertpos="{vertpos}"/></hp:linesegarray></hp:p>'

    def sublist(text: str) -> str:
        return f"<hp:subList>{para(f'<hp:t>{text}</hp:t>')}</hp:subList>"

    section = (
        f'<hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" {hp}>'
        + para(f"<hp:ctrl><hp:header>{sublist('머리말 반복')}</hp:header></hp:ctrl><hp:t>본문 문단</hp:t>"
               f"<hp:ctrl><hp:footNote>{sublist('각주 내용')}</hp:footNote></hp:ctrl>")
        + para(f"<hp:rect><hp:drawText>{sublist('글상자 안 문장')}</hp:drawText></hp:rect>", vertpos=1000)
        + para("<hp:t>다음 쪽 문단</hp:t>", vertpos=0)
        + "</hs:sec>"
    )
    path = tmp_path / "합성.hwpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/hwp+zip")
        z.writestr("Contents/section0.xml", section)
    blocks, pages = read_hwp(path)
    assert [(b.text, b.page) for b in blocks] == [("본문 문단", 1), ("각주 내용", 1), ("글상자 안 문장", 1), ("다음 쪽 문단", 2)]
    assert pages == 2


# ------------------------------------------------------------------ broken files
def test_corrupt_hwp_and_hwpx_get_one_line_reasons_and_the_rest_is_ingested(tmp_path, hwp_path):
    shutil.copy(GRADES, tmp_path / GRADES.name)
    shutil.copy(hwp_path, tmp_path / HWP_NAME)
    (tmp_path / "깨진.hwp").write_bytes(b"this is not an OLE file" * 10)
    (tmp_path / "잘린.hwpx").write_bytes(ORDINANCE.read_bytes()[:4000])  # truncated zip
    (tmp_path / "반쪽.hwp").write_bytes(hwp_path.read_bytes()[:5000])  # truncated OLE container
    result = ingest_corpus(tmp_path)
    failed = {f.file: f.reason for f in result.failures}
    assert set(failed) == {"깨진.hwp", "잘린.hwpx", "반쪽.hwp"}
    for reason in failed.values():
        assert "\n" not in reason and "Traceback" not in reason
    assert "HWP" in failed["깨진.hwp"] and "HWPX" in failed["잘린.hwpx"]
    assert {d.file for d in result.documents} == {GRADES.name, HWP_NAME}
    assert any(c.file == HWP_NAME and c.kind == "table" for c in result.chunks)


def test_hwp3_file_is_named_as_unsupported(tmp_path):
    path = tmp_path / "옛문서.hwp"
    path.write_bytes(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + b"\x00" * 200)
    result = ingest_paths([path], {})
    assert len(result.failures) == 1 and "HWP 3.0" in result.failures[0].reason


# ------------------------------------------------------------------ all real samples
def test_all_real_hwp_and_hwpx_samples(tmp_path):
    sources = [p for d in ("hwp", "hwpx") for p in sorted((REALDATA / d).glob("*.hwp*"))] if REALDATA.is_dir() else []
    if not sources:
        pytest.skip("../shared/realdata/hwp and hwpx are not present")
    for p in sources:
        (tmp_path / p.name).symlink_to(p)
    result = ingest_corpus(tmp_path)
    assert not result.failures, [str(f) for f in result.failures]
    by_file = {d.file: d for d in result.documents}
    hwpx_with_chunks = [f for f, d in by_file.items() if f.endswith(".hwpx") and d.chunks > 0]
    assert len(hwpx_with_chunks) >= 4
    hwp_tables = [c for c in result.chunks if c.file.endswith(".hwp") and c.kind == "table"]
    assert any(any("전자증명서" in r.header for r in c.rows) for c in hwp_tables)
    # Its contents page prints "Ⅳ. 제안서 및 입찰서류 작성 지침 ... 13" with two unnumbered pages before page 1.
    guide = next(c for c in result.chunks if c.file == "error__20230728__test.hwpx" and c.kind == "text"
                 and c.page != 2 and c.text.startswith("Ⅳ. 제안서 및 입찰서류 작성 지침"))
    assert guide.page == 15
