"""The Word algebra page through Streamlit's AppTest: playground, custom axes, benchmark, training, bad inputs."""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from busy import every_slot_busy

WORDS = "pages/words.py"


@pytest.fixture
def at(open_page) -> AppTest:
    return open_page(WORDS)


def assert_ok(at: AppTest, errors: bool = False) -> None:
    assert not at.exception, [e.message for e in at.exception]
    if not errors:
        assert not at.error, [e.value for e in at.error]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def table(at: AppTest, column: str, which: int = 0):
    """The which-th dataframe on the page that has this column (AppTest keeps no keys for read-only tables)."""
    return [d.value for d in at.dataframe if column in d.value.columns][which]


def results(at: AppTest) -> dict[str, list[str]]:
    """The playground's answer columns: method → words in rank order."""
    return {key: table(at, "note", i)["word"].tolist() for i, key in enumerate(("3cosadd", "3cosmul"))}


def benchmark_caption(at: AppTest) -> str:
    [caption] = [c for c in texts(at.text) if "scoring took" in c]
    return caption


def vectors_radio(at: AppTest):
    return next(r for r in at.radio if r.label == "Vectors")


def express(at: AppTest, text: str) -> AppTest:
    at.text_input(key="expression").set_value(text).run()
    return at


def test_king_minus_man_plus_woman_is_queen_for_both_methods(at):
    answers = results(at)
    assert answers["3cosadd"][0] == "queen" and answers["3cosmul"][0] == "queen"
    assert not {"king", "man", "woman"} & set(answers["3cosadd"])
    assert any("GloVe 6B" in c for c in texts(at.text))


def test_expected_word_rank_and_keeping_the_inputs(at):
    express(at, "man : king :: woman : queen")
    assert_ok(at)
    assert [m.value for m in at.metric] == ["1", "1"]
    at.toggle[0].set_value(True).run()
    answers = table(at, "note")
    assert answers["word"].iloc[0] == "king", answers  # what the usual exclusion hides
    assert answers.loc[answers["word"] == "king", "note"].item() == "input word"
    assert answers.loc[answers["word"] == "queen", "note"].item() == "expected ✓"


def test_unknown_words_get_suggestions(at):
    express(at, "kign - man + wman")
    assert_ok(at, errors=True)
    assert texts(at.error) == ["Words these vectors do not know:"]
    unknown = [t for t in texts(at.text) if "is not in the vocabulary" in t]
    assert len(unknown) == 2
    assert "“kign” is not in the vocabulary" in unknown[0] and "king" in unknown[0]
    assert "woman" in unknown[1]
    express(at, "qqqxj + zzzvw")
    assert any("None of the words is known" in c for c in texts(at.caption))


@pytest.mark.parametrize("text, message", [
    ("", "Type an expression"),
    ("+ - -", "Cannot read"),
    (" + ".join(["word"] * 10_000), "More than 50 words"),
    ("king : queen", "a : b :: c : ?"),
])
def test_bad_expressions_get_a_message_and_nothing_breaks(at, text, message):
    express(at, text)
    assert_ok(at)
    assert texts(at.warning) == ["Check the expression:"]
    assert any(message in t for t in texts(at.text)), texts(at.text)


def test_single_word_gives_its_neighbours(at):
    express(at, "Japan")
    assert_ok(at)
    assert {"japanese", "korea", "china"} & set(results(at)["3cosadd"][:5])


def test_custom_axes_place_words_and_report_unknown_ones(at):
    area = at.text_area[0]
    area.set_value("king queen man woman florpzz").run()
    assert_ok(at)
    assert "Not in the vocabulary, left out:" in texts(at.warning) and "florpzz" in texts(at.text)
    x_from = [t for t in at.text_input if t.label == "x from"][0]
    x_from.set_value("notawordzz").run()
    assert_ok(at)
    assert any("Axis words not in the vocabulary" in w for w in texts(at.warning))
    assert "notawordzz" in texts(at.text)
    x_from.set_value("woman").run()  # x from woman to woman: no direction
    assert any("no direction" in t for t in texts(at.text)), texts(at.text)


def test_benchmark_one_section_and_its_failures(at):
    at.selectbox[0].set_value("capital-common-countries").run()
    [run] = [b for b in at.button if b.label == "Run benchmark"]
    run.click().run()
    assert_ok(at)
    sections = table(at, "3CosAdd")
    assert sections["section"].tolist() == ["capital-common-countries"]
    assert sections["questions"].item() == 506
    assert 0.75 < sections["3CosAdd"].item() < 0.85  # GloVe 6B 50d: 79.6 % (gensim agrees)
    failures = table(at, "expected")
    assert len(failures) == round(506 * (1 - sections["3CosAdd"].item()))
    assert (failures["expected"] != failures["predicted"]).all()
    caption = benchmark_caption(at)  # what this run measured; gensim's figure was measured for all sections only
    assert f"3CosAdd {506 - len(failures)}/506" in caption and "gensim" not in caption, caption


def test_benchmark_of_glove_at_30k_states_our_gensim_reference(at):
    [run] = [b for b in at.button if b.label == "Run benchmark"]
    run.click().run()  # GloVe, all sections, 30,000 words: where we ran gensim
    assert_ok(at)
    total = table(at, "3CosAdd").iloc[-1]
    assert total["section"] == "total" and total["questions"] == 14_877
    assert total["3CosAdd"] == pytest.approx(7393 / 14877)  # the same as gensim's evaluation of these vectors
    caption = benchmark_caption(at)
    assert "our own run of gensim" in caption and "7,393/14,877 = 49.69 % with 3CosAdd" in caption, caption


def test_upload_vectors_good_and_bad(at):
    vectors_radio(at).set_value("upload").run()
    assert_ok(at)
    assert any("Upload a vectors file" in i for i in texts(at.info))
    [uploader] = at.get("file_uploader")
    uploader.set_value(("mixed.txt", b"2 3\ncat 0.1 0.2 0.3\ndog 0.1 0.2\n", "text/plain")).run()
    assert_ok(at, errors=True)
    assert any("line 3" in t for t in texts(at.text)), texts(at.text)

    rows = ["cat 1 0 0", "dog 0.9 0.1 0", "kitten 0.95 0 0.05", "car 0 0 1"]
    [uploader] = at.get("file_uploader")
    uploader.set_value(("tiny.txt", "\n".join(rows).encode(), "text/plain")).run()
    assert any("tiny.txt (glove, 4 words × 3)" in t for t in texts(at.text)), texts(at.text)
    express(at, "cat")
    assert_ok(at)  # the custom axes' default words are not in a 4-word vocabulary: a warning, nothing breaks
    assert results(at)["3cosadd"][:2] == ["kitten", "dog"]


def test_train_word2vec_then_use_the_vectors(at):
    [epochs] = [n for n in at.number_input if n.label == "Epochs"]
    epochs.set_value(2)
    [backend] = [s for s in at.selectbox if s.label == "Backend"]
    backend.set_value("gensim")
    [start] = [b for b in at.button if b.label == "Start training"]
    start.click().run()
    assert_ok(at)
    deadline = time.monotonic() + 60
    while not at.success and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
        assert_ok(at)
    assert at.success and "Training done" in at.success[0].value, texts(at.success)
    at.run()
    assert "Trained in this session" in vectors_radio(at).options
    vectors_radio(at).set_value("trained").run()
    assert_ok(at)
    express(at, "police")
    assert len(results(at)["3cosadd"]) == 10


def test_training_with_every_slot_busy_waits_in_the_queue_and_starts_by_itself(at):
    [epochs] = [n for n in at.number_input if n.label == "Epochs"]
    epochs.set_value(1)
    [backend] = [s for s in at.selectbox if s.label == "Backend"]
    backend.set_value("gensim")
    with every_slot_busy() as held:
        [start] = [b for b in at.button if b.label == "Start training"]
        start.click().run()
        assert_ok(at)
        notes = [i for i in texts(at.info) if i.startswith("Queued:")]
        assert notes and notes[0].startswith("Queued: position 1 of 1 — starts by itself when a slot frees"), notes
        assert [b.label for b in at.button if b.key == "w2v-stop"] == ["Leave the queue"]
        held[0].release()  # a slot frees: the queued run starts, then finishes, by itself
        while not at.success:
            time.sleep(0.3)
            at.run()
            assert_ok(at)
    assert "Training done" in at.success[0].value and not [i for i in texts(at.info) if i.startswith("Queued:")]


def test_min_count_above_every_count_is_refused(at):
    [min_count] = [n for n in at.number_input if n.label == "min_count"]
    min_count.set_value(100_000)
    [start] = [b for b in at.button if b.label == "Start training"]
    start.click().run()
    assert_ok(at, errors=True)
    assert any("No word occurs 100000 times" in e for e in texts(at.error)), texts(at.error)
    assert not any(b.label == "Stop training" for b in at.button)


# --- user text is shown as text, never parsed as Markdown -------------------------------------------------------
IMAGE = "![i](//some.host/a.png)"  # as Markdown: every viewer's browser fetches //some.host/a.png
FILE = "![f](https:some.host).txt"  # a file name can hold the same
MARKDOWN_KINDS = ("markdown", "caption", "latex", "error", "warning", "info", "success", "title", "header",
                  "subheader", "toast", "help_info")


def markdown_texts(at: AppTest) -> list[str]:
    """Every string of the page that the browser renders as Markdown (metric labels and values are Markdown too)."""
    return [e.value for kind in MARKDOWN_KINDS for e in at.get(kind)] + [
        part for m in at.metric for part in (m.label, m.value)]


def plain_texts(at: AppTest) -> list[str]:
    return texts(at.text) + texts(at.code)


def assert_shown_as_text(at: AppTest, shown: str) -> None:
    """`shown` is on the page as plain text, and nothing the user gave reaches a Markdown element."""
    assert_ok(at, errors=True)
    leaks = [m for m in markdown_texts(at) if "some.host" in m or shown in m]
    assert not leaks, leaks
    assert any(shown in t for t in plain_texts(at)), plain_texts(at)


@pytest.mark.parametrize("expression, shown", [
    (IMAGE, f"“{IMAGE}” is not in the vocabulary"),  # an unknown word
    (f"man : king :: woman : {IMAGE}", f"“{IMAGE}” is not in the vocabulary"),  # an unknown expected word
    ("king - man + 0.5*", "Cannot read “*”: use words joined by + and -, with optional weights like 0.5*word."),
])
def test_typed_expressions_are_shown_as_text(at, expression, shown):
    express(at, expression)
    assert_shown_as_text(at, shown)


def plot_labels(at: AppTest, key: str) -> list[str]:
    """The labels a Plotly chart draws: its traces' texts and its axis titles."""
    import json

    [chart] = [c for c in at.get("plotly_chart") if key in c.proto.id]
    spec = json.loads(chart.proto.spec)
    layout = spec["layout"]
    return ([t for trace in spec["data"] for t in trace.get("text") or []]
            + [layout[axis]["title"]["text"] for axis in ("xaxis", "yaxis")])


def test_an_uploaded_file_name_and_its_words_are_shown_as_text(at):
    vectors_radio(at).set_value("upload").run()
    rows = ["cat 1 0 0", "dog 0.9 0.1 0", "kitten 0.95 0 0.05", "car 0 0 1", f"{IMAGE} 0.97 0.02 0.01",
            "<b>bold</b> 0.1 0.1 0.9"]
    [uploader] = at.get("file_uploader")
    uploader.set_value((FILE, "\n".join(rows).encode(), "text/plain")).run()
    assert_shown_as_text(at, f"{FILE} (glove, 6 words × 3)")  # the sidebar's note on the vectors

    express(at, "cat")
    assert_shown_as_text(at, f"→ {IMAGE}")  # the answer of both methods
    express(at, f"dog : cat :: kitten : {IMAGE}")
    assert_shown_as_text(at, f"→ {IMAGE}")  # …and the expected word's rank
    assert [m.value for m in at.metric] == ["1", "1"]
    assert not [t for t in plot_labels(at, "analogy-plot") if "<" in t]  # Plotly would read <b> as bold

    at.text_area[0].set_value(f"cat dog {IMAGE} <b>bold</b> ![x](//some.host/x.png)").run()
    for label, word in (("x from", IMAGE), ("x to", "car"), ("y from", "dog"), ("y to", "kitten")):
        next(t for t in at.text_input if t.label == label).set_value(word).run()
    assert_shown_as_text(at, "![x](//some.host/x.png)")  # left out: not in the vocabulary
    labels = plot_labels(at, "axes-plot")
    assert any("bold" in t for t in labels) and not [t for t in labels if "<" in t], labels

    [run] = [b for b in at.button if b.label == "Run benchmark"]
    run.click().run()
    assert_shown_as_text(at, f"{FILE} (glove, 6 words × 3), vocabulary 6")  # the benchmark's result line


def test_a_refused_vectors_file_is_named_as_text(at):
    vectors_radio(at).set_value("upload").run()
    [uploader] = at.get("file_uploader")
    uploader.set_value((FILE, f"{IMAGE} 0.1 zz\n".encode(), "text/plain")).run()
    assert_shown_as_text(at, f"{FILE}, line 1: “{IMAGE} 0.1 zz” is not a word followed by numbers.")


def test_an_uploaded_corpus_is_named_as_text(at):
    next(r for r in at.radio if r.label == "Corpus").set_value("upload").run()
    [uploader] = at.get("file_uploader")
    uploader.set_value((FILE, f"caf\xe9 {IMAGE} noir\n".encode("latin-1"), "text/plain")).run()
    assert_shown_as_text(at, f"{FILE} is not UTF-8")  # read as Latin-1, with a note
    [uploader] = at.get("file_uploader")
    uploader.set_value((FILE, b"\x00\x01\x02 binary", "application/octet-stream")).run()
    assert_shown_as_text(at, f"{FILE} looks like a binary file")


def test_a_new_session_on_a_page_whose_job_was_running_says_it_is_gone(open_page):
    """The server restarted (or the tab reloaded) while word2vec trained: the URL still carries the mark."""
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["job"] = "words-train"
    at.run()
    at.switch_page("pages/words.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(w.value.startswith("Your word2vec training is gone: the server restarted") for w in at.warning)
    assert "job" not in at.query_params  # said once
