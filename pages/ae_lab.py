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

DATA_TITLES = {"mnist": "MNIST digits", "fashion": "Fashion-MNIST",
               "mnist-bg": "MNIST on photo backgrounds (section 5's caveat)",
               "upload": "your images (a zip of class folders)"}
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

    if name == "mnist-bg":
        from engine.aelab.caveat import split_on_backgrounds

        return split_on_backgrounds(lab_split("mnist"))
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
    options = [k for k in ("mnist", "fashion") if status.get(k) is None]
    options += ["mnist-bg"] * ("mnist" in options) + ["upload"]
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
    cols = st.columns(2)
    for i, (name, formula) in enumerate(FORMULAS.items()):
        cols[i % 2].caption(REGULARISERS[name])
        cols[i % 2].latex(formula)
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


# --- 2. filters -----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def shipped_filters(mtime: float) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    from engine.checkpoints import CHECKPOINT_DIR

    return load_file(str(CHECKPOINT_DIR / "aelab-filters.safetensors"))


def filter_grids(filters: dict[str, np.ndarray], key: str) -> None:
    from engine.aelab.filters import MODELS, localisation, tiles

    shown = [name for name in MODELS if name in filters]
    cols = st.columns(len(shown))
    for col, name in zip(cols, shown):
        f = filters[name]
        with col:
            st.metric(MODELS[name], f"{np.median(localisation(f)):.2f}",
                      help="Median share of a filter's energy in its best 6×6 window (0.25: spread evenly).")
            ui.show_images(tiles(f), per_row=8, scale=2)


def filters_section() -> None:
    from engine.aelab.filters import FilterConfig

    st.header("2 · Filters on natural-photo patches")
    st.markdown("12×12 patches cut from scikit-image's photos, each patch's mean removed and the set ZCA-whitened "
                "(every direction of pixel space given about the same variance). One-layer AEs learn from them; "
                "each tile is one code unit's filter (the decoder's weights: the patch that unit adds). PCA's "
                "components are the classic contrast.")
    st.latex(r"x_w = U(\Lambda + \epsilon I)^{-1/2}U^\top x,\qquad \text{localisation}(w) = "
             r"\max_{6\times 6\ \text{window}} \sum_{i \in \text{window}} \frac{w_i^2}{\sum_j w_j^2}")
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input("Patches", 100, 200_000, 3000, key="aelab-fl-n")
    epochs = c2.number_input("Epochs", 1, 200, 10, key="aelab-fl-epochs")
    code = c3.number_input("Filters (code size)", 1, 100_000, 64, key="aelab-fl-code")
    l1 = c4.number_input("Sparse: λ", 0.0, 10.0, 0.1, key="aelab-fl-l1")
    config = FilterConfig(patches=int(n), epochs=int(epochs), code_size=int(code), sparse_l1=float(l1))

    def make_work():
        from engine.aelab.filters import run_filters

        config.validate()
        return lambda report, stop: run_filters(config, report, stop)

    job_panel("aelab-filters", "learn filters", make_work, "filters")
    run = finished("aelab-filters")
    if run is not None and run.filters:
        st.caption("Just computed here, in this session:")
        filter_grids(run.filters, "aelab-fl-live")
    card = shipped_card("filters")
    if card is not None:
        from engine.checkpoints import CHECKPOINT_DIR

        with st.expander("Shipped filters", expanded=run is None):
            shipped_note(card)
            filter_grids(shipped_filters((CHECKPOINT_DIR / "aelab-filters.safetensors").stat().st_mtime), "shipped")
    with st.expander("What to try, what to notice"):
        st.markdown("**Try:** λ = 0 vs 0.1 vs 1; more epochs; 16 vs 256 filters.\n\n**Notice:** the sparse AE's "
                    "filters are small oriented edges — local, like the slide's and like V1 simple cells — and "
                    "its localisation number is the highest. PCA's components are global waves. The plain "
                    "AE has no reason to prefer any basis: its filters stay close to where they started.")


# --- 3. codes as features -------------------------------------------------------------------------
def accuracy_curves(accuracy: dict, title: str, key: str) -> None:
    """accuracy[representation][k] = list over seeds → mean ± std per k, one line per representation."""
    fig = go.Figure()
    for name, per_k in accuracy.items():
        ks = list(per_k)
        fig.add_scatter(x=ks, y=[np.mean(per_k[k]) for k in ks], name=name, mode="lines+markers",
                        error_y=dict(type="data", array=[np.std(per_k[k]) for k in ks], visible=True))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title=title, xaxis_title="labels per class",
                      xaxis_type="category", yaxis_title="test accuracy", legend=dict(orientation="h", y=-0.25))
    st.plotly_chart(fig, key=key)


def feature_results(run: dict, key: str) -> None:
    from engine.aelab.features import CLASSIFIERS, REPRESENTATIONS

    cols = st.columns(len(run["accuracy"]))
    for col, (clf, per_rep) in zip(cols, run["accuracy"].items()):
        with col:
            accuracy_curves({REPRESENTATIONS[r]: v for r, v in per_rep.items()}, CLASSIFIERS[clf], f"{key}-{clf}")
    rows = {"classifier": [], "features": []}
    for clf, per_rep in run["accuracy"].items():
        for rep, per_k in per_rep.items():
            rows["classifier"].append(CLASSIFIERS[clf])
            rows["features"].append(REPRESENTATIONS[rep])
            for k, values in per_k.items():
                rows.setdefault(f"k = {k}", []).append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
    st.dataframe(rows, hide_index=True)


def shipped_features(dataset: str, run: dict) -> None:
    cfg = run["config"]
    st.markdown(f"**{DATA_TITLES.get(dataset, dataset)}** — PCA and a {cfg['ae']} conv AE (code "
                f"{cfg['code_size']}) learned from {cfg['unlabelled']:,} unlabelled images; "
                f"tested on the held-out split (at most {cfg['test']:,} images)")
    shipped_note(run["made"])
    feature_results(run, f"aelab-ft-shipped-{dataset}")


def features_section() -> None:
    from dataclasses import asdict

    from engine.aelab.features import CLASSIFIERS, FeatureConfig

    st.header("3 · Codes as features")
    st.markdown("Learn a representation **without labels** (PCA, or an AE's code), then train scikit-learn's "
                "logistic regression — or gradient boosting, the slide's “XGBoost” — on k labels per class. "
                "Does the code beat the raw pixels when labels are scarce?")
    st.latex(r"\hat y = \mathrm{LogReg}\bigl(\phi(x)\bigr),\quad \phi \in \{x,\ W_{\mathrm{PCA}}^\top x,\ "
             r"\mathrm{Enc}(x)\}")
    name, data = pick_data("aelab-ft", labels_needed=True)
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input("Unlabelled images (PCA, AE)", 100, 60_000, 4000, key="aelab-ft-n")
    code = c2.number_input("Code size (= PCA components)", 1, 100_000, 64, key="aelab-ft-code")
    seeds = c3.number_input("Seeds", 1, 20, 3, key="aelab-ft-seeds")
    clfs = c4.multiselect("Classifiers", list(CLASSIFIERS), ["logistic"], format_func=CLASSIFIERS.get,
                          key="aelab-ft-clf")
    if data is not None:
        config = FeatureConfig(unlabelled=int(n), code_size=int(code), seeds=int(seeds), classifiers=tuple(clfs))

        def make_work():
            from engine.aelab.features import check, run_features

            check(data, config)
            return lambda report, stop: run_features(data, config, report, stop)

        job_panel("aelab-features", "learn features, then classify", make_work, name)
        run = finished("aelab-features")
        if run is not None and run.accuracy:
            st.caption(f"Just computed here, in this session ({run.seconds:.0f} s):")
            feature_results(asdict(run), "aelab-ft-live")
    card = shipped_card("features")
    if card is not None:
        with st.expander("Shipped curves (5 seeds, both classifiers)", expanded=True):
            for dataset, run in card["runs"].items():
                if dataset != "mnist-bg":  # section 5 shows that one
                    shipped_features(dataset, run)
    with st.expander("What to try, what to notice"):
        st.markdown("**Try:** 1 vs 100 labels per class; Fashion-MNIST vs MNIST; a code of 16 vs 256; gradient "
                    "boosting.\n\n**Notice:** with all labels the raw pixels are hard to beat — a linear model on "
                    "784 numbers has enough data. The code is 12× smaller; whether it is *better* with few labels "
                    "is what the curves measure, not what the slide promises.")


# --- 4. unsupervised pretraining ------------------------------------------------------------------
def pretrain_rows(settings: dict) -> dict:
    rows = {"setting": [], "data": [], "what changes": [], "pretrained": [], "scratch": [], "gain (points)": []}
    for name, r in settings.items():
        pre, scr = r["pretrained"]["10"], r["scratch"]["10"]
        rows["setting"].append(name)
        rows["data"].append(DATA_TITLES.get(r["dataset"], r["dataset"]))
        rows["what changes"].append(r["describe"])
        rows["pretrained"].append(f"{np.mean(pre):.3f} ± {np.std(pre):.3f}")
        rows["scratch"].append(f"{np.mean(scr):.3f} ± {np.std(scr):.3f}")
        rows["gain (points)"].append(f"{100 * (np.mean(pre) - np.mean(scr)):+.1f}")
    return rows


def pretrain_section() -> None:
    from engine.aelab.pretrain import AE_KINDS, ENCODER_MODES, PretrainConfig

    st.header("4 · Unsupervised pretraining")
    st.markdown("A conv classifier whose conv part **starts from a conv AE's encoder** (trained on unlabelled "
                "images), fine-tuned on k labels per class — against the same network from random weights, "
                "trained the same way.")
    st.latex(r"\mathrm{clf}(x) = W\,\mathrm{ReLU}(\mathrm{Enc}_\theta(x)),\quad \theta_0 = "
             r"\theta_{\mathrm{AE}}\ \text{(pretrained) or random (scratch)}")
    card = shipped_card("pretrain")
    if card is not None and card.get("settings"):
        shipped_note(card)
        if "finished" not in card:
            st.caption("The run that made this file was stopped before it finished: the table holds the settings "
                       "it completed, the curves those it reached.")
        settings = {k: {**v, "pretrained": {str(a): b for a, b in v["pretrained"].items()},
                        "scratch": {str(a): b for a, b in v["scratch"].items()}} for k, v in card["settings"].items()}
        st.markdown(f"**At 10 labels per class, mean ± std of {card['seeds']} seeds** (the seed draws the labelled "
                    "images and the head's weights; one AE per setting):")
        st.dataframe(pretrain_rows(settings), hide_index=True)
        best = max(settings.values(), key=lambda r: np.mean(r["pretrained"]["10"]) - np.mean(r["scratch"]["10"]))
        gain = 100 * (np.mean(best["pretrained"]["10"]) - np.mean(best["scratch"]["10"]))
        if gain >= 5:
            st.success(f"Best setting: {best['describe']} — {gain:+.1f} points over scratch.")
        else:
            st.warning(f"No setting in this table beats the same network from scratch by 5 points at 10 labels per "
                       f"class; the best gain is {gain:+.1f} points. The lecture's caveat at work: the AE's features "
                       "serve reconstruction, not this classification.")
        for name, curve in card.get("curves", {}).items():
            per_k = {"pretrained": curve["pretrained"], "scratch": curve["scratch"]}
            accuracy_curves({label: {str(k): v for k, v in d.items()} for label, d in per_k.items()},
                            f"{name}: {curve['describe']}", f"aelab-pt-curve-{name}")
    elif card is None:
        st.info("No shipped pretraining table here (python -m engine.aelab.precompute pretrain makes it).")
    st.subheader("Run one setting here")
    name, data = pick_data("aelab-pt", labels_needed=True)
    c1, c2, c3 = st.columns(3)
    ae = c1.selectbox("Autoencoder", list(AE_KINDS), 1, key="aelab-pt-ae")
    mode = c2.selectbox("Encoder while fine-tuning", list(ENCODER_MODES), format_func=ENCODER_MODES.get,
                        key="aelab-pt-mode")
    k = c3.number_input("Labels per class", 0, 10_000, 10, key="aelab-pt-k")
    c1, c2, c3 = st.columns(3)
    n = c1.number_input("Unlabelled images", 100, 60_000, 4000, key="aelab-pt-n")
    epochs = c2.number_input("AE epochs", 1, 100, 3, key="aelab-pt-epochs")
    seeds = c3.number_input("Seeds", 1, 10, 2, key="aelab-pt-seeds")
    if data is None:
        return
    config = PretrainConfig(ae=ae, encoder=mode, unlabelled=int(n), ae_epochs=int(epochs))

    def make_work():
        from engine.aelab.labels import per_class
        from engine.aelab.pretrain import run

        config.validate()
        per_class(data.pool.labels, int(k), 0, data.pool.label_names)
        return lambda report, stop: run(data, config, (int(k),), int(seeds), on_progress=report, should_stop=stop)

    job_panel("aelab-pretrain", "pretrain, then fine-tune", make_work, name)
    result = finished("aelab-pretrain")
    if result is not None and result.pretrained:
        ks = list(result.pretrained)
        st.caption(f"Just computed here, in this session ({result.seconds:.0f} s, of which the AE "
                   f"{result.ae_seconds:.0f} s):")
        st.dataframe({"labels per class": ks,
                      "pretrained": [f"{np.mean(result.pretrained[q]):.3f}" for q in ks],
                      "scratch": [f"{np.mean(result.scratch.get(q, [np.nan])):.3f}" for q in ks],
                      "seeds": [len(result.pretrained[q]) for q in ks]}, hide_index=True)


# --- 5. the caveat ----------------------------------------------------------------------------------
def caveat_section() -> None:
    st.header("5 · The caveat, shown")
    st.markdown("“Unsupervised pretraining may learn features irrelevant to your problem, e.g. background sky "
                "color.” Here the same MNIST digits are drawn over crops of photos whose brightness varies a lot "
                "from image to image: most of each image's variance is now background, which says nothing about "
                "the digit. An AE spends its code on what varies most.")
    st.latex(r"x = \max(b\,p,\ d),\quad p\ \text{a photo crop},\ b \sim U(0.1, 1),\ d\ \text{the digit}")
    data = lab_split("mnist-bg") if dataset_status().get("mnist") is None else None
    if data is None:
        st.info("Needs the MNIST digits.")
        return
    ui.show_images(data.pool.images[:20], per_row=10, scale=2, caption="the first 20 images of the pool")
    runs = (shipped_card("features") or {}).get("runs", {})
    if "mnist" in runs and "mnist-bg" in runs:
        caveat_table(runs["mnist"], runs["mnist-bg"])
        with st.expander("Shipped curves on the photo backgrounds"):
            shipped_features("mnist-bg", runs["mnist-bg"])
    st.markdown("**Measure it yourself:** pick “MNIST on photo backgrounds” as the data in sections 1, 3 and 4 and "
                "compare with plain MNIST.")


def caveat_table(plain: dict, backgrounds: dict) -> None:
    """Shipped logistic-regression accuracy, plain digits vs the same digits on backgrounds, per representation."""
    from engine.aelab.features import REPRESENTATIONS

    rows = {"features": [], **{f"{what}, k = {k}": [] for k in ("10", "100") for what in ("plain", "backgrounds")}}
    for rep, title in REPRESENTATIONS.items():
        rows["features"].append(title)
        for k in ("10", "100"):
            for what, run in (("plain", plain), ("backgrounds", backgrounds)):
                rows[f"{what}, k = {k}"].append(f"{np.mean(run['accuracy']['logistic'][rep][k]):.3f}")
    st.caption("Shipped numbers (5 seeds, logistic regression; provenance under the curves): test accuracy with "
               "k labels per class, plain digits vs the same digits on photo backgrounds. How much does each "
               "representation lose to the background?")
    st.dataframe(rows, hide_index=True)


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
    sections = {"1 · Identity trap": identity_section, "2 · Filters": filters_section,
                "3 · Codes as features": features_section, "4 · Pretraining": pretrain_section,
                "5 · Caveat": caveat_section, "6 · Denoising": denoise_section}
    for tab, section in zip(st.tabs(list(sections)), sections.values()):
        with tab:
            section()


main()
