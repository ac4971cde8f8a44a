"""Autoencoder lab: why an over-complete AE needs a regulariser, and what denoising buys (lecture: "Expanding
autoencoder" to "Unsupervised pretraining"). Each experiment runs as a background job; shipped numbers come from
checkpoints/aelab-*.json with the command that made them."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine.device import configure_threads
from pages import ui

DATA_TITLES = {"mnist": "MNIST digits", "fashion": "Fashion-MNIST", "upload": "your images (a zip of class folders)"}
POLL_SECONDS = 0.5


# --- cached loaders -------------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def dataset_status() -> dict:
    from engine.data import dataset_status as status

    return status()


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def lab_split(name: str):
    """engine.aelab.data.load_split once per process: the unlabelled pool and the test images."""
    from engine.aelab.data import load_split

    return load_split(name, max_test=10_000)


@ui.user_data("Reading your images…")
def uploaded_split(content_hash: str, _content: bytes):
    from engine.aelab.data import split
    from engine.data import load_image_zip

    return split(load_image_zip(_content, size=28, color=False))


@st.cache_data(show_spinner=False)
def shipped(name: str, mtime: float) -> dict | None:
    """checkpoints/aelab-<name>.json (shipped results and the command that made them), or None."""
    from engine.checkpoints import CHECKPOINT_DIR

    path = CHECKPOINT_DIR / f"aelab-{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def shipped_card(name: str) -> dict | None:
    from engine.checkpoints import CHECKPOINT_DIR

    path = CHECKPOINT_DIR / f"aelab-{name}.json"
    return shipped(name, path.stat().st_mtime) if path.exists() else None


def shipped_note(card: dict) -> None:
    st.caption(f"Shipped numbers, not computed now: made on {card['created']} ({card['machine']}) by")
    st.code(card["command"], language="bash")


def pick_data(key: str, labels_needed: bool = False):
    """The section's data as an engine.aelab.data.Split, or None after saying why not."""
    from engine.data import DatasetUnavailable

    status = dataset_status()
    options = [k for k in ("mnist", "fashion") if status.get(k) is None] + ["upload"]
    name = st.selectbox("Data", options, format_func=DATA_TITLES.get, key=f"{key}-data")
    if name != "upload":
        return name, lab_split(name)
    upload = st.file_uploader("A zip of images" + (", one folder per class" if labels_needed else ""),
                              type=["zip"], key=f"{key}-zip", max_upload_size=200)
    if upload is None:
        st.info("Upload a zip of images (28×28 grey after loading)"
                + ("; put each class in a folder of its own." if labels_needed else "."))
        return None, None
    content = upload.getvalue()
    try:
        data = uploaded_split(ui.content_hash(content), content)
    except (DatasetUnavailable, ValueError) as e:
        ui.alert(st.error, "These images cannot be used:", str(e))
        return None, None
    st.text(f"{len(data.pool):,} training and {len(data.test):,} test images from {upload.name}.")
    return f"upload:{ui.content_hash(content)}", data


# --- one job panel for every section -------------------------------------------------------------
def job_panel(slot_name: str, what: str, make_work, title: str) -> None:
    """Start (a new run replaces this session's previous one) and Stop, the queue note and a progress bar.
    make_work() checks the settings (ValueError: shown, nothing starts) and returns work(report, should_stop)."""
    from engine.aelab.jobs import LabJob

    slot = ui.job_slot(slot_name)
    running = slot.job is not None and not slot.job.snapshot().finished
    if st.button(f"▶ Start: {what}", key=f"{slot_name}-start", type="primary", disabled=running):
        try:
            work = make_work()
        except ValueError as e:
            ui.alert(st.error, "These settings cannot run:", str(e))
        else:
            slot.job = LabJob(work).start(replacing=slot.job)
            slot.meta = {"title": title, "shown_done": False}
            running = True
    ui.job_notice(slot_name, what)
    st.fragment(run_every=POLL_SECONDS if running else None)(job_progress)(slot_name)


def job_progress(slot_name: str) -> None:
    slot = ui.job_slot(slot_name)
    if slot.job is None:
        return
    snap = slot.job.snapshot()
    if snap.queue:
        ui.queued_note(snap.queue)
        st.button("Leave the queue", on_click=slot.job.stop, key=f"{slot_name}-stop")
        return
    st.progress(snap.fraction, text=f"{snap.text} · {snap.seconds:.1f} s")
    if not snap.finished:
        st.button("⏹ Stop", on_click=slot.job.stop, key=f"{slot_name}-stop")
        return
    if snap.state == "failed":
        st.error(f"The experiment failed: {snap.error}")
    elif snap.state == "stopped":
        st.warning(f"Stopped after {snap.seconds:.1f} s: the results below cover what was finished.")
    if not slot.meta.get("shown_done"):
        slot.meta["shown_done"] = True
        st.rerun(scope="app")  # draw the results


def finished(slot_name: str):
    """This session's result of that section's last run (also a stopped one), or None."""
    found = ui.session_result(slot_name)
    return found[0] if found else None


# --- 1. the identity trap -------------------------------------------------------------------------
def identity_section() -> None:
    from engine.aelab.identity import FORMULAS, REGULARISERS, IdentityConfig, Score

    st.header("1 · The identity trap")
    st.markdown("An **expanding** autoencoder has a code larger than its input. Trained on reconstruction alone, "
                "nothing stops it from copying its input — noise included. Four one-layer AEs with the same code "
                "size, each with one of the lecture's cures:")
    cols = st.columns(len(FORMULAS))
    for col, (name, formula) in zip(cols, FORMULAS.items()):
        col.caption(REGULARISERS[name])
        col.latex(formula)
    st.latex(r"\text{noise passed} = \frac{\|f(x+n) - f(x)\|^2}{\|n\|^2}\quad(n \sim \mathcal N(0, 0.1^2)\ "
             r"\text{per pixel};\ \text{identity} = 100\%)")
    name, data = pick_data("aelab-id")
    c1, c2, c3, c4 = st.columns(4)
    code = c1.number_input("Code size", 1, 100_000, 1024, key="aelab-id-code",
                           help="Must exceed the input (784 pixels at 28×28) to be over-complete.")
    epochs = c2.number_input("Epochs", 1, 200, 3, key="aelab-id-epochs")
    n_train = c3.number_input("Training images", 2, 60_000, 2000, key="aelab-id-n")
    l1 = c4.number_input("Sparse: λ", 0.0, 1.0, 3e-4, format="%.5f", key="aelab-id-l1")
    c1, c2 = st.columns(2)
    sigma = c1.number_input("Denoising: σ", 0.0, 2.0, 0.5, key="aelab-id-sigma")
    drop = c2.number_input("Code dropout p", 0.0, 0.95, 0.5, key="aelab-id-drop")
    if data is None:
        return
    config = IdentityConfig(code_size=int(code), epochs=int(epochs), sparse_l1=float(l1), noise_sigma=float(sigma),
                            dropout=float(drop))

    def make_work():
        from engine.aelab.identity import run_identity

        images = data.pool.images[: int(n_train)]
        config.validate(tuple(images.shape[1:]))
        return lambda report, stop: run_identity(config, images, data.test.images[:500], report, stop)

    job_panel("aelab-identity", "train the four AEs", make_work, f"{DATA_TITLES.get(name, 'your images')}")
    result = finished("aelab-identity")
    if result is not None and result.scores:
        st.caption("Just computed here, in this session:")
        identity_results(result.scores)
        for label, images, outputs in (("Unseen images", result.data_in, result.data_out),
                                       ("Pure noise (every pixel uniform in [0, 1])", result.noise_in,
                                        result.noise_out)):
            st.markdown(f"**{label}** — input (top row), then each model's output")
            rows = [images] + [outputs[m] for m in outputs]
            ui.show_images(np.concatenate(rows), per_row=len(images), scale=2,
                           caption="rows: input, " + ", ".join(outputs))
    card = shipped_card("identity")
    if card is not None:
        with st.expander("Shipped results (MNIST, default settings)", expanded=result is None):
            shipped_note(card)
            identity_results({k: Score(**v) for k, v in card["scores"].items()})
    with st.expander("What to try, what to notice"):
        st.markdown(
            "**Try:** Start with the defaults; then raise the epochs; shrink the code below 784 (refused: not "
            "over-complete); set σ = 0 or λ = 0 and watch that model join the plain one.\n\n"
            "**Notice:** the plain AE reconstructs unseen digits best *and* passes the most of the added noise — "
            "it is on its way to the identity. The denoising AE passes a small fraction: it has learned what "
            "digits look like and pulls noisy inputs back to them. On pure noise no model here is the identity: "
            "a pixel that is black in every training digit (the border) never gets taught, so even the plain AE "
            "misses the noise there — the trap is a direction training pulls towards, measured by the noise passed.")


def identity_results(scores: dict) -> None:
    from engine.aelab.identity import REGULARISERS

    names = list(scores)
    c1, c2 = st.columns(2)
    fig = go.Figure(go.Bar(x=[REGULARISERS[n] for n in names], y=[100 * scores[n].passed for n in names],
                           text=[f"{100 * scores[n].passed:.1f} %" for n in names], textposition="auto"))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), title="noise passed (identity = 100 %)",
                      yaxis_title="%")
    c1.plotly_chart(fig, key=f"aelab-id-passed-{id(scores)}")
    fig = go.Figure()
    fig.add_bar(x=[REGULARISERS[n] for n in names], y=[scores[n].data_mse for n in names], name="unseen images")
    fig.add_bar(x=[REGULARISERS[n] for n in names], y=[scores[n].noise_mse for n in names], name="pure noise")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), title="reconstruction MSE per pixel",
                      yaxis_type="log", legend=dict(orientation="h", y=-0.2))
    c2.plotly_chart(fig, key=f"aelab-id-mse-{id(scores)}")
    st.dataframe({"model": [REGULARISERS[n] for n in names],
                  "noise passed": [f"{100 * scores[n].passed:.1f} %" for n in names],
                  "MSE unseen images": [f"{scores[n].data_mse:.4f}" for n in names],
                  "MSE pure noise": [f"{scores[n].noise_mse:.4f}" for n in names],
                  "training s": [f"{scores[n].seconds:.1f}" for n in names]}, hide_index=True)


# --- 6. image to image ----------------------------------------------------------------------------
DENOISE_PAIR = ("mnist-conv-32", "mnist-conv-32-denoising")


def denoise_models() -> dict:
    """{label: model}: the shipped plain and denoising conv AEs, plus this session's identity-trap AEs."""
    from engine.checkpoints import CHECKPOINT_DIR

    models = {}
    for stem, label in zip(DENOISE_PAIR, ("plain conv AE, code 32 (shipped)", "denoising conv AE, σ = 0.3 (shipped)")):
        path = CHECKPOINT_DIR / f"{stem}.safetensors"
        if path.exists():
            models[label] = ui.checkpoint(str(path), path.stat().st_mtime)[0]
    result = finished("aelab-identity")
    if result is not None and result.images_shape == (1, 28, 28):
        for name in ("plain", "denoising"):
            if name in result.lab.models:
                models[f"{name} over-complete AE (section 1, this session)"] = result.lab.models[name]
    return models


def denoise_section() -> None:
    from engine.aelab.denoise import compare, psnr

    st.header("6 · Image to image: denoising")
    st.latex(r"\tilde x = \mathrm{clip}(x + \sigma\varepsilon),\qquad "
             r"\mathrm{PSNR} = 10\log_{10}\frac{1}{\mathrm{MSE}(x, \hat x)}\ \text{dB}")
    models = denoise_models()
    if not models:
        st.info("The shipped MNIST autoencoders are missing (checkpoints/rebuild.sh makes them).")
        return
    test = lab_split("mnist").test
    c1, c2, c3 = st.columns(3)
    sigma = c1.slider("Noise σ", 0.0, 1.0, 0.3, 0.05, key="aelab-dn-sigma")
    first = c2.number_input("First test image", 0, len(test) - 8, 0, key="aelab-dn-index")
    seed = c3.number_input("Noise seed", 0, 10**6, 0, key="aelab-dn-seed")
    clean = test.images[int(first): int(first) + 8]
    noisy, outputs = compare(models, clean, float(sigma), int(seed))
    cols = st.columns(len(outputs) + 1)
    cols[0].metric("Noisy input", f"{psnr(clean, noisy):.1f} dB")
    for col, (label, (_, value)) in zip(cols[1:], outputs.items()):
        col.metric(label, f"{value:.1f} dB")
    ui.show_images(np.concatenate([clean, noisy] + [out for out, _ in outputs.values()]), per_row=8, scale=2,
                   caption="rows: clean test digits, noisy input, then " + "; ".join(outputs))
    with st.expander("What to try, what to notice"):
        st.markdown(
            "**Try:** move σ from 0 to 1. Run section 1 and come back: its plain and denoising over-complete AEs "
            "join the comparison.\n\n"
            "**Notice:** at σ = 0 the plain AE wins (it was trained to copy clean digits); as σ grows the "
            "denoising AE keeps its PSNR while the plain one follows the noise down — most of all the "
            "over-complete plain AE, which copies what it is given.")


def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.intro(
        "Autoencoder lab",
        r"L = \|x - \mathrm{Dec}(\mathrm{Enc}(\mathrm{Noise}(x)))\|^2 + \lambda\sum_i|\mathrm{Enc}_i(x)|",
        "run each section's experiment (about a minute on 2 CPU cores) and compare it with the shipped numbers.",
        "an autoencoder with a big code must be regularised or it copies; what the code is good for is measured, "
        "not assumed.",
    )
    tabs = st.tabs(["1 · Identity trap", "6 · Denoising"])
    with tabs[0]:
        identity_section()
    with tabs[1]:
        denoise_section()


main()
