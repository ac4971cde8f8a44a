"""The Word algebra page through Streamlit's AppTest: playground, custom axes, benchmark, training, bad inputs."""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

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
    [caption] = [c for c in texts(at.caption) if "scoring took" in c]
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
    assert any("GloVe 6B" in c for c in texts(at.caption))


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
    errors = texts(at.error)
    assert len(errors) == 2
    assert "“kign” is not in the vocabulary" in errors[0] and "king" in errors[0]
    assert "woman" in errors[1]
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
    assert any(message in w for w in texts(at.warning)), texts(at.warning)


def test_single_word_gives_its_neighbours(at):
    express(at, "Japan")
    assert_ok(at)
    assert {"japanese", "korea", "china"} & set(results(at)["3cosadd"][:5])


def test_custom_axes_place_words_and_report_unknown_ones(at):
    area = at.text_area[0]
    area.set_value("king queen man woman florpzz").run()
    assert_ok(at)
    assert any("florpzz" in w for w in texts(at.warning))
    x_from = [t for t in at.text_input if t.label == "x from"][0]
    x_from.set_value("notawordzz").run()
    assert_ok(at)
    assert any("notawordzz" in w for w in texts(at.warning))
    x_from.set_value("woman").run()  # x from woman to woman: no direction
    assert any("no direction" in e for e in texts(at.error))


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
    assert any("line 3" in e for e in texts(at.error)), texts(at.error)

    rows = ["cat 1 0 0", "dog 0.9 0.1 0", "kitten 0.95 0 0.05", "car 0 0 1"]
    [uploader] = at.get("file_uploader")
    uploader.set_value(("tiny.txt", "\n".join(rows).encode(), "text/plain")).run()
    assert any("tiny.txt (glove, 4 words × 3)" in c for c in texts(at.caption)), texts(at.caption)
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


def test_min_count_above_every_count_is_refused(at):
    [min_count] = [n for n in at.number_input if n.label == "min_count"]
    min_count.set_value(100_000)
    [start] = [b for b in at.button if b.label == "Start training"]
    start.click().run()
    assert_ok(at, errors=True)
    assert any("No word occurs 100000 times" in e for e in texts(at.error)), texts(at.error)
    assert not any(b.label == "Stop training" for b in at.button)
