"""The sentence embedder and the passages: reference vectors, no network, places kept."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fileproc_dagster.meaning.passages import CHUNK_WORDS, MAX_PASSAGES, clock, passages

# Vectors sentence-transformers computed (with torch) from the same packaged model.
REFERENCE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


@pytest.fixture(scope="module")
def embed() -> Any:
    from fileproc_dagster.meaning.embedder import embed

    return embed


def test_vectors_match_sentence_transformers(embed: Any) -> None:
    reference = json.loads(REFERENCE.read_text())
    ours = embed(reference["texts"])
    theirs = np.array(reference["vectors"], np.float32)
    cosines = (ours * theirs).sum(1) / np.linalg.norm(theirs, axis=1)
    assert ours.shape == (len(reference["texts"]), 384)
    assert cosines.min() > 0.999, cosines
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_embedding_needs_no_network(embed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import fileproc_dagster.meaning.embedder as embedder

    def refused(*args: Any, **kwargs: Any) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "socket", refused)
    monkeypatch.setattr(socket, "create_connection", refused)
    monkeypatch.setattr(embedder, "_loaded", {})  # load the model afresh, offline
    vectors = embedder.embed(["the invoice is overdue", "payment is thirty days late"])
    assert float(vectors[0] @ vectors[1]) > 0.4


def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(embed: Any) -> None:
    late, overdue, dog = embed(["payment is thirty days late", "the invoice is overdue",
                                "a dog runs across the meadow"])
    assert float(late @ overdue) > float(late @ dog) + 0.3


def test_pages_and_headings_are_places() -> None:
    markdown = ("<!-- page 1 -->\n\n# Costs\n\nRent went up.\n\n## Rent\n\n| a | b |\n|---|---|\n"
                "| 1 | 2 |\n\n<!-- page 2 -->\n\nmore text")
    cut = passages("report.pdf", "PDF document, 2 pages", markdown=markdown)
    assert [(p.ordinal, p.place, p.text, p.page) for p in cut] == [
        (0, "description", "report.pdf: PDF document, 2 pages", None),
        (1, "page 1 · Costs", "Rent went up.", 1),
        (2, "page 1 · Costs › Rent", "a b 1 2", 1),
        (3, "page 2 · Costs › Rent", "more text", 2)]


def test_slides_start_their_own_headings_and_sheets_are_headings() -> None:
    slides = passages("deck.pptx", None, markdown="<!-- slide 1 -->\n\n# Plan\n\nGo.\n\n"
                      "<!-- slide 2 -->\n\nNo title here.")
    assert [(p.place, p.page) for p in slides] == [("description", None), ("slide 1 · Plan", 1),
                                                   ("slide 2", 2)]
    sheets = passages(None, None, markdown="## Budget\n\n| x | y |\n\n## Staff\n\n| z |")
    assert [(p.place, p.text) for p in sheets] == [("Budget", "x y"), ("Staff", "z")]


def test_long_text_is_cut_into_windows_within_a_place() -> None:
    words = [f"w{i}" for i in range(CHUNK_WORDS * 2 + 5)]
    cut = passages(None, None, markdown="<!-- page 7 -->\n\n" + " ".join(words))
    assert [len(p.text.split()) for p in cut] == [CHUNK_WORDS, CHUNK_WORDS, 5]
    assert {p.place for p in cut} == {"page 7"}
    plain = passages("a.txt", "", text=" ".join(words))
    assert [p.ordinal for p in plain] == [0, 1, 2, 3] and plain[1].place == "words 1–180"
    huge = passages(None, None, text="word " * (CHUNK_WORDS * (MAX_PASSAGES + 10)))
    assert len(huge) == MAX_PASSAGES


def test_transcripts_are_cut_by_time() -> None:
    segments = [{"start": 0.0, "end": 65.2, "text": "hello " * 50},
                {"start": 65.2, "end": 80.0, "text": "late payment " * 20},
                {"start": 3700.0, "end": 3710.5, "text": "goodbye"}]
    cut = passages("call.mp3", "speech", text="ignored", details={"segments": segments})
    assert [(p.place, p.start_s, p.end_s) for p in cut[1:]] == [
        ("0:00–1:20", 0.0, 80.0), ("1:01:40–1:01:50", 3700.0, 3710.5)]
    assert clock(59.9) == "0:59" and clock(3600) == "1:00:00"


def test_the_model_loads_ahead_in_the_background_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import fileproc_dagster.meaning.embedder as embedder
    from fileproc_dagster.meaning import preload_embedder

    monkeypatch.setattr(embedder, "_loaded", {})
    monkeypatch.setattr(embedder, "_preloading", [])
    preload_embedder()
    preload_embedder()  # a second call starts nothing more
    assert len(embedder._preloading) == 1
    embedder._preloading[0].join(120)
    assert isinstance(embedder._loaded["model"], embedder.Embedder)
    assert embedder.embed(["ready"]).shape == (1, 384)
