"""``benchmarks.pages`` keeps working: every listed page is benchmarked, and a run in child
processes on one page scores ours, plain tesseract (and kreuzberg with the ``bench`` extra)."""

from __future__ import annotations

import importlib.util

from benchmarks.pages import PAGES, clean_cpu_ratio, run_pages, sources, summarize, table

PAGE = "tesseract_phototest.tif"  # a clean scan every reader reads whole


def test_every_page_of_the_set_is_benchmarked_with_its_kind_and_transcript() -> None:
    rows = sources()
    assert {r["file"] for r in rows} == {p.name for p in PAGES.iterdir()
                                         if p.name != "sources.json"}
    assert all(r["kind"] and r["transcript"] for r in rows)


def test_one_clean_page_in_child_processes() -> None:
    readers = ["ours", "tesseract", "kreuzberg"]
    results = run_pages(repeats=1, readers=readers, names=[PAGE])
    (page,) = results["pages"]
    assert page["readers"]["ours"]["document"] is True
    assert page["readers"]["ours"]["accuracy"] == page["readers"]["tesseract"]["accuracy"] == 1.0
    assert page["readers"]["ours"]["cpu_s"] > 0 and page["readers"]["tesseract"]["cpu_s"] > 0
    if importlib.util.find_spec("kreuzberg") is None:
        assert "kreuzberg" in results["missing"] and "not installed" in table(results)
    else:
        assert page["readers"]["kreuzberg"]["accuracy"] == 1.0
    (clean, overall) = summarize(results)
    assert clean["kind"] == "clean scan" and overall["kind"] == "overall"
    assert clean_cpu_ratio(results) is not None
    printed = table(results)
    assert "| clean scan | 1 | 1.000 · " in printed
    assert "Our page/photo calls that are wrong: none" in printed
