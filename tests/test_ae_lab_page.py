"""The autoencoder lab through Streamlit's AppTest: each section renders, runs its experiment as a background job
and shows the results, and bad settings get a message instead of a traceback."""
from __future__ import annotations

import time

import pytest
from conftest import said
from streamlit.testing.v1 import AppTest

PAGE = "pages/ae_lab.py"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTLAB_THREADS", "1")
        yield


@pytest.fixture
def at(open_page) -> AppTest:
    return open_page(PAGE)


def button(at: AppTest, start: str):
    return next(b for b in at.button if b.label.startswith(start))


def run_until_done(at: AppTest, column: str | None, limit_s: float = 1200, done=None) -> AppTest:
    """Rerun the page until it shows a results table with this column, or done(at) (a hang guard, not a speed
    test). Sessions' jobs outlive an AppTest, so each test that starts one waits for its own result here."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        time.sleep(1)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        if done(at) if done else any(column in d.value.columns for d in at.dataframe):
            return at
        failed = [e.value for e in at.error if e.value.startswith("The experiment failed")]
        assert not failed, failed
    raise AssertionError("the experiment did not finish")


def table_with(at: AppTest, column: str, which: int = 0):
    """The which-th table on the page that has this column (shipped tables may come first)."""
    return [d.value for d in at.dataframe if column in d.value.columns][which]


def test_the_page_renders_every_section_with_shipped_or_live_controls(at):
    assert not at.error, [e.value for e in at.error]
    headers = [h.value for h in at.header]
    assert [h.split(" · ")[0] for h in headers] == ["1", "2", "3", "4", "5", "6"], headers
    assert button(at, "▶ Start: train the four AEs")
    labels = [m.label for m in at.metric]
    assert "Noisy input" in labels and any("denoising" in label for label in labels)


def test_identity_trap_runs_in_the_background_and_shows_its_numbers(at):
    at.number_input(key="aelab-id-n").set_value(300).run()
    at.number_input(key="aelab-id-epochs").set_value(1).run()
    button(at, "▶ Start: train the four AEs").click().run()
    assert not at.exception, [e.message for e in at.exception]
    run_until_done(at, None, done=lambda a: sum("training s" in d.value.columns for d in a.dataframe) >= 2)  # + shipped
    table = table_with(at, "model")
    assert list(table["model"]) == ["no regulariser", "L1 on the code (sparse)", "noise on the input (denoising)",
                                    "dropout on the code (redundant)"]
    # section 6 now also offers the over-complete pair just trained
    assert any("section 1, this session" in m.label for m in at.metric)


@pytest.mark.parametrize("code", [100, 99_999])
def test_codes_that_are_not_over_complete_or_absurd_get_a_message(at, code):
    at.number_input(key="aelab-id-code").set_value(code).run()
    button(at, "▶ Start: train the four AEs").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "These settings cannot run:" in [e.value for e in at.error]
    assert any("over-complete" in t for t in said(at))


def test_the_noise_slider_changes_the_psnr(at):
    before = {m.label: m.value for m in at.metric}
    at.slider(key="aelab-dn-sigma").set_value(0.8).run()
    after = {m.label: m.value for m in at.metric}
    assert float(after["Noisy input"].split()[0]) < float(before["Noisy input"].split()[0])
    shipped = [label for label in after if "shipped" in label]
    assert len(shipped) == 2
    plain, denoising = (float(after[label].split()[0]) for label in shipped)
    assert denoising > plain  # at strong noise the denoising AE wins


def one_class_zip() -> bytes:
    import io
    import zipfile

    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(12):
            png = io.BytesIO()
            Image.new("L", (28, 28), 40 + 10 * i).save(png, format="PNG")
            z.writestr(f"shoes/{i}.png", png.getvalue())
    return buffer.getvalue()


def refused(at: AppTest, start: str, words: str) -> None:
    button(at, start).click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "These settings cannot run:" in [e.value for e in at.error], [e.value for e in at.error]
    assert any(words in t for t in said(at)), said(at)


def test_filters_run_and_show_a_localisation_number_per_filter_set(at):
    at.number_input(key="aelab-fl-n").set_value(300).run()
    at.number_input(key="aelab-fl-epochs").set_value(1).run()
    button(at, "▶ Start: learn filters").click().run()
    run_until_done(at, None, done=lambda a: sum(m.label == "sparse AE (L1 on the code)" for m in a.metric) >= 2)
    shown = {m.label: float(m.value) for m in at.metric if m.label.endswith(("AE", "(L1 on the code)", "components"))}
    assert set(shown) >= {"sparse AE (L1 on the code)", "denoising AE", "plain AE", "PCA components"}, shown
    assert all(0.25 <= v <= 1 for v in shown.values())


def test_features_run_and_show_curves_per_representation(at):
    at.number_input(key="aelab-ft-n").set_value(1500).run()  # 100 labels of every class among them
    at.number_input(key="aelab-ft-seeds").set_value(1).run()
    def tables(a: AppTest) -> int:
        return sum("features" in d.value.columns for d in a.dataframe)

    shipped = tables(at)
    button(at, "▶ Start: learn features, then classify").click().run()
    run_until_done(at, None, done=lambda a: tables(a) > shipped)
    table = table_with(at, "features")  # this session's table comes before the shipped ones
    assert list(table["features"]) == ["raw pixels", "PCA", "AE code"]
    assert {"k = 1", "k = 10", "k = 100", "k = all"} <= set(table.columns)


def test_bad_feature_settings_get_a_message(at):
    at.number_input(key="aelab-ft-code").set_value(99_999).run()
    refused(at, "▶ Start: learn features", "between 1 and 1024")


def test_a_one_class_zip_gets_a_message(at):
    at.selectbox(key="aelab-ft-data").set_value("upload").run()
    [box] = [u for u in at.get("file_uploader") if u.key == "aelab-ft-zip"]
    box.set_value(("shoes.zip", one_class_zip(), "application/zip")).run()
    refused(at, "▶ Start: learn features", "")
    assert any("one class" in t or "no labels" in t for t in said(at)), said(at)  # one folder: no labels at all


def test_more_labels_than_a_class_has_get_a_message(at):
    at.number_input(key="aelab-ft-n").set_value(300).run()  # about 30 of each digit: k = 100 cannot be drawn
    refused(at, "▶ Start: learn features", "ask for at most")


@pytest.mark.parametrize("k, words", [(0, "at least 1"), (5000, "ask for at most")])
def test_bad_label_counts_for_pretraining_get_a_message(at, k, words):
    at.number_input(key="aelab-pt-k").set_value(k).run()
    refused(at, "▶ Start: pretrain", words)


def test_pretraining_runs_one_setting_and_shows_pretrained_vs_scratch(at):
    for key, value in (("aelab-pt-n", 300), ("aelab-pt-epochs", 1), ("aelab-pt-seeds", 1), ("aelab-pt-k", 1)):
        at.number_input(key=key).set_value(value).run()
    button(at, "▶ Start: pretrain, then fine-tune").click().run()
    run_until_done(at, "labels per class")
    table = table_with(at, "labels per class")
    assert list(table.columns) == ["labels per class", "pretrained", "scratch", "seeds"]
    assert 0 <= float(table["pretrained"][0]) <= 1 and 0 <= float(table["scratch"][0]) <= 1


def test_the_caveat_section_shows_what_the_background_costs_each_representation(at):
    table = table_with(at, "backgrounds, k = 10")
    assert list(table["features"]) == ["raw pixels", "PCA", "AE code"]
    for k in ("10", "100"):  # the shipped run on photo backgrounds is harder for every representation
        plain, backgrounds = table[f"plain, k = {k}"].astype(float), table[f"backgrounds, k = {k}"].astype(float)
        assert (backgrounds < plain).all(), table
