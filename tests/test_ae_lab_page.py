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


def run_until_done(at: AppTest, limit_s: float = 900) -> AppTest:
    """Rerun the page until it shows a just-computed result (a hang guard, not a speed test)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        time.sleep(1)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        if "Just computed here, in this session:" in [c.value for c in at.caption]:
            return at
    raise AssertionError("the experiment did not finish")


def test_the_page_renders_every_section_with_shipped_or_live_controls(at):
    assert not at.error, [e.value for e in at.error]
    headers = [h.value for h in at.header]
    assert headers[0].startswith("1 · The identity trap") and any(h.startswith("6 · Image to image") for h in headers)
    assert button(at, "▶ Start: train the four AEs")
    labels = [m.label for m in at.metric]
    assert "Noisy input" in labels and any("denoising" in label for label in labels)


def test_identity_trap_runs_in_the_background_and_shows_its_numbers(at):
    at.number_input(key="aelab-id-n").set_value(300).run()
    at.number_input(key="aelab-id-epochs").set_value(1).run()
    button(at, "▶ Start: train the four AEs").click().run()
    assert not at.exception, [e.message for e in at.exception]
    run_until_done(at)
    assert "Just computed here, in this session:" in [c.value for c in at.caption]
    table = at.dataframe[0].value
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
