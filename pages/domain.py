"""Domain adaptation (DANN): a network learns to read digits on photos it never saw a label for."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine.dann.train import DANNConfig
from engine.device import configure_threads
from pages import ui

PAIR_KEYS = ("mnist-m", "digits", "zip")
LAMBDA = DANNConfig.lambda_max  # the default λ (the shipped run was trained with it: its card must match the config)
PRESETS = {  # one-click settings: (what to notice, the widget values it sets)
    "Paper's schedule": (f"λ grows from 0 to {LAMBDA:g} by the paper's schedule: the domain classifier's accuracy "
                         "falls towards 50 % while the target accuracy climbs above the source-only bound.",
                         dict(lam=LAMBDA, schedule=True, drop=[])),
    "λ too large early → collapse": ("λ = 5 from the first step: the features are pushed to fool a domain classifier "
                                     "that has learnt nothing yet, and the label classifier cannot keep up — both "
                                     "accuracies fall (compare with the bounds).",
                                     dict(lam=5.0, schedule=False, drop=[])),
    "Target lacks two digits → adaptation can hurt": (
        "The target has no 1s and no 7s: aligning the whole feature distributions maps some target digits onto the "
        "source's 1s and 7s, so DANN gains less over source only (or loses).", dict(lam=LAMBDA, schedule=True, drop=[1, 7])),
}
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
LIVE_SECONDS = 1.0  # the live view is redrawn this often while training
DOMAIN_COLOURS = ("#1f77b4", "#d62728")  # source, target
LOSSES = (r"\underbrace{-\log P(\text{real}\mid h(x_{\text{real}})) - \log\bigl[1 - P(\text{real}\mid "
          r"h(x_{mc}))\bigr]}_{\text{domain loss}} \rightarrow \min_{\text{discriminator}}",
          r"L_{\text{classifier}}\bigl(y_{mc},\, y(h(x_{mc}))\bigr) - \log P(\text{real}\mid h(x_{mc})) "
          r"\rightarrow \min_{\text{classifier}}")


# --- cached loaders -------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Building the domains (MNIST and its digits on photos)…", max_entries=2)
def builtin_pair(key: str):
    from engine.dann.domains import load_pair

    return load_pair(key)


@st.cache_resource(show_spinner="Loading the shipped DANN run…")
def shipped_experiment(mtime: float):
    """The shipped, finished experiment (never trained further: Start builds a new one)."""
    from engine.dann.checkpoint import SHIPPED_PATH, load_experiment

    return load_experiment(SHIPPED_PATH, builtin_pair("mnist-m"))


@st.cache_data(show_spinner=False)
def shipped_config() -> dict | None:
    from engine.dann.checkpoint import SHIPPED_PATH, read_card

    return read_card(SHIPPED_PATH)["config"] if SHIPPED_PATH.exists() else None


# --- settings -------------------------------------------------------------------------------------
def apply_preset() -> None:
    """The preset radio's callback: set the widgets it names."""
    values = PRESETS[st.session_state["dann-preset"]][1]
    st.session_state["dann-lam"], st.session_state["dann-schedule"] = values["lam"], values["schedule"]
    st.session_state["dann-drop"] = values["drop"]


def user_target():
    """MNIST → the user's zip of digit photos, or None after saying why not."""
    from engine.dann.domains import digit_labels, user_pair
    from engine.data import DatasetUnavailable

    upload = st.file_uploader("A zip of digit photos (folders named 0–9 give labels, used only to score)",
                              type=["zip"], key="dann-zip", max_upload_size=200)
    if upload is None:
        st.info("Upload a zip of photos of digits (any size: each is centre-cropped and resized to 28×28 colour).")
        return None
    content = upload.getvalue()
    try:
        data = ui.uploaded_zip(ui.content_hash(content), content, 28, True)
        pair = user_pair(data.images, digit_labels(data.labels, data.label_names))
    except (DatasetUnavailable, ValueError) as e:
        ui.alert(st.error, "These images cannot be the target domain:", str(e))
        return None
    st.text(f"{len(data):,} images from {upload.name}, resized to 28×28.")
    for note in (*data.notes, *pair.notes):
        st.info(note)
    return pair


def settings() -> tuple[object, dict] | None:
    """The domain pair and the run's settings (a dict of engine.dann.train.DANNConfig fields); None without data."""
    from engine.dann.domains import PAIRS

    key = st.selectbox("Domains", PAIR_KEYS, format_func=PAIRS.get, key="dann-pair")
    pair = user_target() if key == "zip" else builtin_pair(key)
    if pair is None:
        return None
    st.radio("Preset", list(PRESETS), key="dann-preset", on_change=apply_preset)
    st.caption(PRESETS[st.session_state.get("dann-preset", "Paper's schedule")][0])
    c1, c2 = st.columns(2)
    lam = c1.number_input("λ (the reversed gradient's weight)", 0.0, 100.0, LAMBDA, 0.5, key="dann-lam",
                         help=f"The paper's λ is 1; the shipped run's {LAMBDA:g} closed more of the gap in our benchmark "
                         "(bench/README.md).")
    schedule = c2.toggle("λ schedule", True, key="dann-schedule",
                         help="λ_p = λ · (2 / (1 + exp(−10 p)) − 1): from 0 at the start to λ at the end.")
    c1, c2, c3 = st.columns(3)
    lr = c1.select_slider("Learning rate lr₀", LEARNING_RATES, 0.01, key="dann-lr", format_func=lambda v: f"{v:g}",
                          help="Annealed: lr_p = lr₀ / (1 + 10 p)^0.75, SGD with momentum 0.9.")
    epochs = c2.number_input("Epochs", 1, 200, int((shipped_config() or {}).get("epochs", DANNConfig.epochs)),
                             key="dann-epochs")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="dann-seed")
    drop = st.multiselect("Digits missing from the target", list(range(10)), key="dann-drop",
                          disabled=not pair.target.labelled, help="Taken out of the target's training and test images.")
    if lam == 0:
        st.caption("λ = 0: the domain classifier still learns, but its gradient never reaches h — this run is the "
                   "source-only run (same seed, same steps).")
    return pair, dict(pair=pair.key, epochs=int(epochs), lr=float(lr), lambda_max=float(lam),
                      lambda_schedule=bool(schedule), drop_digits=tuple(drop), seed=int(seed))


def trainer_for(pair, values: dict, data_key: str):
    """This session's DANNTrainer for these settings (a change replaces it); the shipped run for its own settings."""
    from engine.dann.checkpoint import SHIPPED_PATH
    from engine.dann.live import DANNTrainer

    ui.job_notice("dann", "DANN training")
    slot = ui.job_slot("dann")
    build = {**values, "data": data_key}
    if slot.job is None or slot.meta.get("build") != build:
        slot.stop()
        slot.job, slot.meta = None, {}
        try:
            config = DANNConfig(**values, threads=None)
            shipped = shipped_config()
            finished = None
            if pair.key == "mnist-m" and shipped is not None and DANNConfig(**{**shipped, "threads": None}) == config:
                finished = shipped_experiment(SHIPPED_PATH.stat().st_mtime)
            slot.job, slot.meta = DANNTrainer(config, pair, finished), {"build": build}
        except ValueError as e:
            st.error(str(e))
    return slot.job


def controls(trainer) -> None:
    snap = trainer.snapshot()
    started = snap.state in ("running", "queued")
    c1, c2 = st.columns(2)
    label = "⏸ Pause" if started else ("▶ Train again" if snap.finished else "▶ Start")
    c1.button(label, key="dann-play", type="primary", width="stretch",
              on_click=trainer.pause if started else trainer.start)
    c2.button("⏹ Stop", key="dann-stop", width="stretch", disabled=snap.finished, on_click=trainer.stop,
              help="End this run, keeping what it measured; Start then trains a new one.")


# --- the live view --------------------------------------------------------------------------------
def status_line(snap, shown: str) -> None:
    from engine.dann.train import MODES

    stages = " → ".join(MODES[s] for s in snap.stages)
    speed = f" · {snap.steps_per_second:,.1f} steps/s" if snap.steps_per_second > 0 else ""
    text = f"{MODES[snap.stage]}: step {snap.iteration:,} of {snap.total:,}{speed} · {snap.seconds:.1f} s"

    def idle() -> None:
        st.caption(snap.message)
        if snap.state != "done":
            st.caption(f"⏸ {snap.state} · {text}")

    ui.live_status(snap, shown, text, idle=idle, running=lambda: st.progress(
        min(1.0, snap.iteration / max(1, snap.total)), text=f"▶ {text} · runs: {stages}"))


def curve_figures(snap, height: int = 300) -> tuple[go.Figure, go.Figure]:
    """Accuracies at each measurement, and the losses and λ per step (block means beyond 400 points)."""
    accuracy = go.Figure()
    ev = snap.evals
    for name, label, colour in (("source", "source accuracy", DOMAIN_COLOURS[0]),
                                ("target", "target accuracy (labels unseen)", DOMAIN_COLOURS[1]),
                                ("domain", "domain classifier accuracy", "#7f7f7f")):
        accuracy.add_scatter(x=ev["iteration"], y=ev[name], name=label, mode="lines+markers",
                             line=dict(color=colour), marker=dict(size=4))
    accuracy.add_hline(y=0.5, line=dict(color="#999", dash="dot"))
    accuracy.update_yaxes(range=[0, 1.02], title="accuracy")
    losses = go.Figure()
    cv = snap.curves
    n = len(cv["iteration"])
    block = max(1, -(-n // 400))
    for name, label, colour in (("label_loss", "label loss (source)", "#2ca02c"),
                                ("domain_loss", "domain loss", "#9467bd")):
        values = np.asarray(cv[name][: n - n % block] or [np.nan], float)
        x = np.asarray(cv["iteration"][block - 1: n - n % block: block] or [0])
        losses.add_scatter(x=x, y=values.reshape(-1, block).mean(1) if n >= block else values, name=label,
                           line=dict(color=colour))
    losses.add_scatter(x=cv["iteration"][::block], y=cv["lam"][::block], name="λ_p", yaxis="y2",
                       line=dict(color="#ff7f0e", dash="dash"))
    top = max([*cv["lam"], 1e-3])
    losses.update_layout(yaxis=dict(title="loss", rangemode="tozero"),
                         yaxis2=dict(title="λ_p", overlaying="y", side="right", range=[0, 1.05 * top],
                                     tickformat=".2g", showgrid=False))
    for fig in (accuracy, losses):
        fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="step (DANN run)",
                          legend=dict(orientation="h", yanchor="top", y=-0.3))
    return accuracy, losses


def live_view(trainer, shown: str) -> None:
    snap = trainer.snapshot()
    status_line(snap, shown)
    last = {k: v[-1] for k, v in snap.evals.items() if v}
    c1, c2, c3 = st.columns(3)
    c1.metric("Source accuracy", f"{last['source']:.1%}" if last else "–")
    c2.metric("Target accuracy", "–" if not last or np.isnan(last["target"]) else f"{last['target']:.1%}",
              help="On held-out target images. Their labels are never used to train DANN.")
    c3.metric("Domain classifier", f"{last['domain']:.1%}" if last else "–",
              help="How often it tells source from target by h(x): 50 % means it cannot.")
    accuracy, losses = curve_figures(snap)
    c1, c2 = st.columns(2)
    c1.plotly_chart(accuracy, key="dann-acc")
    c2.plotly_chart(losses, key="dann-loss")
    st.caption("DANN's run, measured on 500 held-out images of each domain twice an epoch; the bounds below use "
               "all held-out images at the end of each run.")


def feature_map(points: dict | None, colour_by: str, title: str) -> go.Figure:
    fig = go.Figure()
    if points is not None:
        xy, domain, digit = np.asarray(points["xy"]), np.asarray(points["domain"]), np.asarray(points["digit"])
        for d, name, symbol in ((0, "source", "circle"), (1, "target", "x")):
            pick = domain == d
            if colour_by == "domain":
                marker = dict(color=DOMAIN_COLOURS[d], size=5, opacity=0.6, symbol=symbol)
            else:
                marker = dict(color=digit[pick], colorscale="Turbo", cmin=0, cmax=9, size=6, symbol=symbol,
                              colorbar=dict(title="digit") if d == 0 else None)
            fig.add_scatter(x=xy[pick, 0], y=xy[pick, 1], mode="markers", name=name, marker=marker,
                            text=[f"{name}, digit {k}" if k >= 0 else name for k in digit[pick]],
                            hoverinfo="text")
    fig.update_layout(title=title, height=330, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="PC 1",
                      yaxis_title="PC 2", legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


def bounds(snap) -> None:
    from engine.dann.train import MODES, gap_closed

    results = snap.results
    st.caption("Target accuracy, all held-out target images")
    for mode in snap.stages:
        r = results.get(mode)
        target = "–" if r is None or r["target"] is None else f"{r['target']:.1%}"
        st.metric(MODES[mode], target,
                  help={"dann": "Source labels + unlabelled target images, through the gradient reversal layer.",
                        "source-only": "The same network and steps on the source alone: no adaptation.",
                        "target": "Trained on the target's own labels: what perfect adaptation would reach."}[mode])
    if all(results.get(m, {}).get("target") is not None for m in ("source-only", "dann", "target")):
        gap = gap_closed(results["source-only"]["target"], results["dann"]["target"], results["target"]["target"])
        st.metric("Gap closed by DANN", f"{gap:.0%}", help="(DANN − source only) / (train on target − source only); "
                  "Ganin et al. closed 56 % on MNIST → MNIST-M.")


def maps_and_bounds(trainer) -> None:
    snap = trainer.snapshot()
    colour_by = st.radio("Colour the points by", ["domain", "digit"], horizontal=True, key="dann-colour")
    c1, c2, c3 = st.columns([2, 2, 1])
    c1.plotly_chart(feature_map(snap.map_before, colour_by, "h(x) before training"), key="dann-map-before")
    c2.plotly_chart(feature_map(snap.map_after, colour_by, "h(x) after DANN" if snap.results.get("dann")
                                else "h(x) now"), key="dann-map-after")
    with c3:
        bounds(snap)
    st.caption("Each map: the first two principal components of h(x), the 768 features, for 300 held-out images "
               "of each domain (fitted on both). Adaptation pulls the two domains' features together; colour by digit to "
               "see whether the digits stay apart.")


def examples(pair) -> None:
    c1, c2 = st.columns(2)
    with c1:
        ui.show_images(pair.source.test_x[:20], per_row=10, scale=2, caption=f"Source: {pair.source.name} (labelled)")
    with c2:
        ui.show_images(pair.target.test_x[:20], per_row=10, scale=2,
                       caption=f"Target: {pair.target.name} (labels never used to train)")


def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.intro(
        "Domain adaptation (DANN)",
        r"E(\theta_f, \theta_y, \theta_d) = L_{\text{label}}(\theta_f, \theta_y) - \lambda\, L_{\text{domain}}(\theta_f, "
        r"\theta_d), \qquad \min_{\theta_f,\, \theta_y} E, \quad \max_{\theta_d} E",
        "open the page on the shipped run and compare the two maps coloured by domain: before training the target "
        "digits sit apart from the source; after DANN they mix. Press Start and watch the domain classifier's "
        "accuracy drop towards 50 % as λ grows. Try the collapse preset (λ large from the start), then the preset "
        "whose target lacks two digits. Set λ = 0: the run is the source-only run. Upload your own digit photos.",
        "DANN trains h to help the label classifier and, through the gradient reversal layer (forward: identity, "
        "backward: −λ × gradient), to hurt the domain classifier: E = L_label − λ L_domain is minimised by h and the "
        "label classifier and maximised by the domain classifier. The slide writes the feature side as the GAN's "
        "non-saturating loss. The bounds frame the result: no adaptation below, the target's own labels above.",
    )
    left, right = st.columns([1, 2])
    with left:
        chosen = settings()
        if chosen is None:
            return
        pair, values = chosen
        trainer = trainer_for(pair, values, st.session_state.get("dann-pair", "mnist-m") + (
            ui.content_hash(pair.target.train_x.tobytes()) if pair.key == "zip" else ""))
        if trainer is None:
            return
        controls(trainer)
        st.caption("Runs three trainings in a row: DANN, then source only, then train on target (when the target "
                   "has labels). A change of settings builds a new run.")
        batch = DANNConfig.batch_size
        st.caption("The network: the paper's h (conv 32@5×5, conv 48@5×5) and label classifier (100 → 100 → 10), a "
                   "domain classifier 500 → 500 → 1; every image's colour channels are standardised (a photo's "
                   f"brightness never reaches h); batches of {batch} source + {batch} target images (the paper: "
                   f"64 + 64); by default λ grows to {LAMBDA:g} (the paper: 1).")
    state = trainer.snapshot().state
    with right:
        st.latex(LOSSES[0])
        st.latex(LOSSES[1])
        poll = {"running": LIVE_SECONDS, "queued": ui.QUEUE_POLL_SECONDS}.get(state)
        st.fragment(run_every=poll)(live_view)(trainer, state)
    st.subheader("Features of both domains, and the two bounds")
    st.fragment(run_every=5 * LIVE_SECONDS if state == "running" else None)(maps_and_bounds)(trainer)
    st.subheader("The two domains")
    examples(pair)


main()
