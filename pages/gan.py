"""GANs, live: a GAN Lab for 2-D points (yours too) and a DCGAN you watch learn digits, faces or your images."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine.device import configure_threads
from pages import ui

TOY_TITLES = {"ring8": "Ring of 8 Gaussians", "grid25": "Grid of 25 Gaussians", "spiral": "Spiral",
              "moons": "Two moons", "square": "Uniform square", "custom": "Your points (draw or CSV)"}
IMAGE_TITLES = {"mnist": "MNIST digits", "fashion": "Fashion-MNIST", "faces": "LFW faces (subset)",
                "digits": "sklearn digits 8×8"}
LOSS_TITLES = {"nonsaturating": "non-saturating", "minimax": "minimax (saturating)", "lsgan": "least squares",
               "wgan-gp": "WGAN-GP", "hinge": "hinge"}
PRESET_KEYS = ("loss", "k", "m", "lrd", "lrg", "gp")  # the hyper_widgets keys (after the prefix) a preset sets
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
FRAME_SECONDS = 0.12  # the 2-D picture is asked for this often while training (≥ 5 frames/s arrive on 2 cores)
CURVE_SECONDS = 1.0  # curves and histograms, heavier browser charts, this often
IMAGE_SECONDS = 0.5  # the image view and its speed, this often (the trainer refreshes them every 0.5 s)
DRAW_GRID = 41  # candidate points per side of the drawing pad over [−2, 2]²


# --- cached loaders -------------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def dataset_status() -> dict:
    from engine.data import dataset_status as status

    return status()


@st.cache_data(show_spinner=False, max_entries=4)
def uploaded_points(content_hash: str, _content: bytes) -> np.ndarray:
    from engine.gan.toy2d import read_points_csv

    return read_points_csv(_content)


@st.cache_data(show_spinner=False)
def shipped_iterations_to_pass() -> int | None:
    """Iterations the shipped DCGAN's run took until its samples passed the digit score (None without it)."""
    from engine.gan.checkpoint import DCGAN_PATH, read_gan_card

    return read_gan_card(DCGAN_PATH)["metrics"].get("iterations_to_pass") if DCGAN_PATH.exists() else None


# --- shared by both views -------------------------------------------------------------------------
def forget_hyper(prefix: str) -> None:
    """Drop the hyper-parameter widgets' values, so they start again from new defaults (a preset)."""
    for key in PRESET_KEYS:
        st.session_state.pop(f"{prefix}-{key}", None)


def hyper_widgets(prefix: str, defaults: dict) -> dict:
    """Loss, k, M and learning rates: changed between steps of a running trainer."""
    loss = st.selectbox("Loss", list(LOSS_TITLES), format_func=LOSS_TITLES.get, key=f"{prefix}-loss",
                        index=list(LOSS_TITLES).index(defaults["loss"]))
    c1, c2 = st.columns(2)
    k_d = c1.number_input("k: D steps per iteration", 1, 100, defaults["k_d"], key=f"{prefix}-k")
    m_g = c2.number_input("M: G steps per iteration", 1, 100, defaults["m_g"], key=f"{prefix}-m")
    c1, c2, c3 = st.columns(3)
    lr_d = c1.select_slider("D learning rate", LEARNING_RATES, defaults["lr_d"], key=f"{prefix}-lrd",
                            format_func=lambda v: f"{v:g}")
    lr_g = c2.select_slider("G learning rate", LEARNING_RATES, defaults["lr_g"], key=f"{prefix}-lrg",
                            format_func=lambda v: f"{v:g}")
    batch = c3.number_input("Batch", 1, 4096, 64, key=f"{prefix}-batch")
    gp = st.number_input("Gradient penalty λ (WGAN-GP)", 0.0, 10_000.0, float(defaults["gp_weight"]),
                         key=f"{prefix}-gp", disabled=loss != "wgan-gp",
                         help="λ in L_D = D(G(z)) − D(x) + λ(‖∇D(x̂)‖ − 1)²; the paper's 10 is too stiff for the 2-D sets.")
    return dict(loss=loss, k_d=int(k_d), m_g=int(m_g), lr_d=float(lr_d), lr_g=float(lr_g), batch_size=int(batch),
                gp_weight=float(gp))


def trainer_for(slot_name: str, build: dict, make) -> object | None:
    """This session's trainer for `build` (the settings that need new networks); a changed build replaces it."""
    ui.job_notice(slot_name, "GAN training")
    slot = ui.job_slot(slot_name)
    if slot.job is None or slot.meta.get("build") != build:
        slot.stop()
        try:
            slot.job, slot.meta = make(), {"build": build}
        except ValueError as e:
            slot.job, slot.meta = None, {}
            st.error(str(e))
    return slot.job


def start_or_pause(trainer) -> None:
    """The Play button's callback: start (or queue for a training slot), or pause (or leave the queue)."""
    if trainer.snapshot().state in ("running", "queued"):
        trainer.pause()
    else:
        trainer.start()


def poll_seconds(state: str, running_seconds: float) -> float | None:
    """How often a live view is redrawn: while running, while queued (its place), else never."""
    return {"running": running_seconds, "queued": ui.QUEUE_POLL_SECONDS}.get(state)


def controls(trainer, hyper: dict, key: str) -> None:
    """Apply the hyper-parameters, then Start/Pause, single steps and Reset (callbacks: labels are right at once)."""
    try:
        changed = {k: v for k, v in hyper.items() if getattr(trainer.config, k) != v}
        if changed:
            trainer.update(**changed)
    except ValueError as e:
        st.error(str(e))
    started = trainer.snapshot().state in ("running", "queued")
    c1, c2 = st.columns(2)
    c1.button("⏸ Pause" if started else "▶ Start", key=f"{key}-play", type="primary", width="stretch",
              on_click=start_or_pause, args=(trainer,))
    c2.button("Reset", key=f"{key}-reset", width="stretch", help="New random networks, history cleared.",
              on_click=trainer.reset)
    c1, c2, c3 = st.columns(3)
    c1.button("Step D", key=f"{key}-d", width="stretch", help="One discriminator update, G frozen.",
              on_click=trainer.step, args=("d",))
    c2.button("Step G", key=f"{key}-g", width="stretch", help="One generator update, D frozen.",
              on_click=trainer.step, args=("g",))
    c3.button("Step k+M", key=f"{key}-both", width="stretch", help="One iteration: k D steps, then M G steps.",
              on_click=trainer.step, args=("both",))


def curves(snap, height: int = 220) -> tuple[go.Figure, go.Figure]:
    """Losses per iteration, and mean D(x) vs D(G(z)) per iteration."""
    losses, probabilities = go.Figure(), go.Figure()
    losses.add_scatter(x=snap.history_x, y=snap.loss_d, name="L_D", line=dict(color="#2ca02c"))
    losses.add_scatter(x=snap.history_x, y=snap.loss_g, name="L_G", line=dict(color="#9467bd"))
    probabilities.add_scatter(x=snap.history_x, y=snap.d_real, name="D(x)", line=dict(color="#2ca02c"))
    probabilities.add_scatter(x=snap.history_x, y=snap.d_fake, name="D(G(z))", line=dict(color="#9467bd"))
    probabilities.add_hline(y=0.5, line=dict(color="#999", dash="dot"))
    for fig, title in ((losses, "loss"), (probabilities, "mean σ(D)")):
        fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="iteration",
                          yaxis_title=title, legend=dict(orientation="h", y=1.12))
    probabilities.update_yaxes(range=[0, 1])
    return losses, probabilities


def histograms(snap, height: int = 220) -> go.Figure:
    from engine.gan.snapshot import HIST_EDGES

    centres = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
    fig = go.Figure()
    for counts, name, colour in ((snap.hist_real, "D(x), real", "#2ca02c"), (snap.hist_fake, "D(G(z)), fake", "#9467bd")):
        if counts is not None:
            fig.add_bar(x=centres, y=counts, name=name, marker_color=colour, opacity=0.7)
    fig.update_layout(barmode="overlay", height=height, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title="σ(D)", range=[0, 1]), yaxis_title="count", legend=dict(orientation="h", y=1.12))
    return fig


def status_line(snap, shown: str) -> None:
    text = f"iteration {snap.iterations:,} · {snap.step:,} updates · {snap.steps_per_second:,.0f} it/s · {snap.seconds:.1f} s"
    ui.live_status(snap, shown, text, running=lambda: st.caption(f"▶ running · {text}"),
                   idle=lambda: st.caption(f"⏸ {snap.message or 'paused'} · {text}"))


# --- 2-D view -------------------------------------------------------------------------------------
def drawing_pad() -> np.ndarray | None:
    """Select regions of a dotted pad (box or lasso) to draw a point set; selections add up."""
    axis = np.linspace(-2, 2, DRAW_GRID)
    pad = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    drawn = st.session_state.setdefault("gan-drawn", set())
    colours = ["#2ca02c" if i in drawn else "#cccccc" for i in range(len(pad))]
    fig = go.Figure(go.Scatter(x=pad[:, 0], y=pad[:, 1], mode="markers", marker=dict(size=6, color=colours)))
    fig.update_layout(height=300, margin=dict(l=0, r=0, t=0, b=0), dragmode="lasso", showlegend=False,
                      yaxis=dict(scaleanchor="x"), uirevision="pad")
    event = st.plotly_chart(fig, on_select="rerun", selection_mode=("box", "lasso"), key=f"gan-pad-{len(drawn)}")
    picked = set(event.selection.point_indices) if event and event.selection else set()
    if picked - drawn:
        drawn |= picked
        st.rerun()
    c1, c2 = st.columns(2)
    c1.caption(f"{len(drawn)} points drawn: lasso or box-select dots to add them.")
    if c2.button("Clear drawing", key="gan-clear"):
        drawn.clear()
        st.rerun()
    return pad[sorted(drawn)].astype(np.float32) if drawn else None


def custom_points() -> np.ndarray | None:
    """The user's points from a CSV, else from the drawing pad; None after saying how to give some."""
    from engine.gan.toy2d import MAX_CSV_BYTES, PointsError

    upload = st.file_uploader("CSV of x,y points", type=["csv", "txt"],
                              max_upload_size=max(1, MAX_CSV_BYTES // 2**20), key="gan-csv")
    points = None
    if upload is not None:
        content = upload.getvalue()
        try:
            points = uploaded_points(ui.content_hash(content), content)
            st.text(f"{len(points):,} points from {upload.name}.")
        except PointsError as e:
            ui.alert(st.error, "These points cannot be used:", str(e))
    else:
        points = drawing_pad()
    if points is None:
        st.info("Draw points on the pad (lasso) or upload a CSV to train on them.")
    return points


def two_d_settings() -> tuple[dict, dict]:
    """The preset and hyper-parameters (changeable while training), and the networks' width, layers and seed."""
    from engine.gan.model import PRESETS_2D

    preset = st.radio("Preset", list(PRESETS_2D), horizontal=True, key="gan-preset", on_change=forget_hyper,
                      args=("gan2d",))
    hyper = hyper_widgets("gan2d", {"gp_weight": 1.0, **PRESETS_2D[preset]})
    c1, c2, c3 = st.columns(3)
    width = c1.number_input("Width", 2, 1024, 128, key="gan-width", help="Hidden units per layer of G and D.")
    depth = c2.number_input("Layers", 1, 8, 3, key="gan-depth")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="gan-seed")
    return hyper, {"width": int(width), "depth": int(depth), "seed": int(seed)}


def two_d_frame(trainer, shown: str) -> None:
    """The picture (server-drawn: a browser chart cannot redraw 5×/s here), status and the learning metric."""
    from engine.gan.view import jpeg_bytes, render_field

    snap = trainer.snapshot()
    status_line(snap, shown)
    st.image(jpeg_bytes(render_field(snap, trainer.extent)), width="content")
    st.caption(":green[● real x] · :violet[● fake G(z)] · :violet[—] −∂L_G/∂G(z), where G's loss pushes each fake · "
               "grey lines: G's warped noise grid · background: D(x) from purple (fake, 0) to green (real, 1)")
    metric = snap.metric
    if "modes_covered" in metric:
        c1, c2 = st.columns(2)
        c1.metric("Modes covered", f"{metric['modes_covered']} / {metric['modes']}")
        c2.metric("High-quality samples", f"{metric['high_quality']:.0%}", help="Within 3σ of some mode.")


def two_d_curves(trainer) -> None:
    snap = trainer.snapshot()
    losses, probabilities = curves(snap, height=200)
    c1, c2, c3 = st.columns(3)
    c1.plotly_chart(losses, key="gan-2d-loss")
    c2.plotly_chart(probabilities, key="gan-2d-prob")
    c3.plotly_chart(histograms(snap, height=200), key="gan-2d-hist")


def two_d_view() -> None:
    from engine.gan.model import GANConfig
    from engine.gan.trainer import GANTrainer

    left, right = st.columns([2, 3])
    with left:
        data = st.selectbox("Data", list(TOY_TITLES), format_func=TOY_TITLES.get, key="gan-data")
        points = custom_points() if data == "custom" else None
        if data == "custom" and points is None:
            return
        hyper, networks = two_d_settings()
        build = {"data": data, "points": None if points is None else ui.content_hash(points.tobytes()), **networks}
        trainer = trainer_for("gan-2d", build, lambda: GANTrainer(GANConfig(data=data, **networks, **hyper), points))
        if trainer is None:
            return
        controls(trainer, hyper, "gan2d")
        st.caption(f"Runs on {trainer.device}. Changes to loss, k, M, rates and batch apply at the next step; "
                   "data, width, layers and seed build new networks.")
    state = trainer.snapshot().state
    with right:
        st.fragment(run_every=poll_seconds(state, FRAME_SECONDS))(two_d_frame)(trainer, state)
    st.fragment(run_every=CURVE_SECONDS if state == "running" else None)(two_d_curves)(trainer)


# --- image view -----------------------------------------------------------------------------------
def uploaded_images() -> tuple[np.ndarray | None, str | None]:
    """The user's own images from a zip, 28×28 grey or 32×32 colour, and a key naming them; (None, None) after
    saying why not."""
    from engine.data import DatasetUnavailable

    upload = st.file_uploader("A zip of images (PNG, JPEG…)", type=["zip"], key="gan-zip", max_upload_size=200)
    color = st.toggle("Colour (32×32 RGB) instead of grey 28×28", key="gan-zip-color")
    if upload is None:
        st.info("Upload a zip of at least a few hundred images of one kind (faces, shoes, logos…).")
        return None, None
    content = upload.getvalue()
    key = ui.content_hash(content)
    try:
        data = ui.uploaded_zip(key, content, 32 if color else 28, color)
    except (DatasetUnavailable, ValueError) as e:  # not a zip, too large, no readable images; ImageRejected
        ui.alert(st.error, "These images cannot be used:", str(e))
        return None, None
    st.text(f"{len(data):,} images from {upload.name}.")
    for note in data.notes:  # files skipped, or the images that did not fit in memory left out
        st.info(note)
    return data.images, f"{key}-{color}"


def image_trainer(data: str, start_from: str, images: np.ndarray, seed: int, hyper: dict):
    """The shipped MNIST generator with these hyper-parameters, or new networks for the images."""
    from engine.gan.checkpoint import DCGAN_PATH
    from engine.gan.model import GANConfig
    from engine.gan.trainer import GANTrainer, load_trainer

    if start_from == "shipped":
        return load_trainer(DCGAN_PATH, **hyper)
    return GANTrainer(GANConfig(data="custom-images" if data == "upload" else data, seed=seed, **hyper), images)


def speed_note(trainer, to_pass: int | None) -> None:
    """Where it runs and how fast it trains there, as measured by this trainer while it runs."""
    from engine.device import describe

    rate, batch = trainer.snapshot().steps_per_second, trainer.config.batch_size
    if rate > 0:
        text = f"Runs on {describe(trainer.device)}: {rate:.1f} it/s at batch {batch}, measured now ({1 / rate:.2f} s " \
               "per k+M step)."
    else:
        text = f"Runs on {describe(trainer.device)}; its speed is measured and shown here while it trains."
    if to_pass:
        text += " Expect blobs first, then strokes: trained from scratch, the shipped generator drew recognisable " \
                f"digits by its {to_pass:,}th k+M step"
        text += f" (about {to_pass / rate / 60:.1f} minutes at this speed)." if rate > 0 else "."
    st.caption(text)


def image_frame(trainer, shown: str) -> None:
    snap = trainer.snapshot()
    status_line(snap, shown)
    c1, c2 = st.columns([3, 2])
    with c1:
        if snap.samples is not None:
            ui.show_images(snap.samples, per_row=8, scale=2, caption="G(z) for the same 64 noise vectors")
    with c2:
        metric = snap.metric
        if "confident" in metric:
            st.metric("Look like a digit", f"{metric['confident']:.0%}",
                      help="Share of samples the shipped MNIST classifier labels with probability > 0.8.")
            st.metric("Class balance", f"{metric['balance']:.2f}", help="Entropy of predicted digits / log 10: "
                      "1 = every digit equally often; low = mode collapse.")
            st.bar_chart({"samples": metric["classes"]}, height=140, x_label="predicted digit")
        st.plotly_chart(histograms(snap, height=200), key="gan-img-hist")
    losses, probabilities = curves(snap, height=200)
    c1, c2 = st.columns(2)
    c1.plotly_chart(losses, key="gan-img-loss")
    c2.plotly_chart(probabilities, key="gan-img-prob")


def interpolation(trainer) -> None:
    st.subheader("Walk between two noise vectors")
    c1, c2, c3 = st.columns(3)
    seed_a = c1.number_input("Noise seed A", 0, 10**6, 1, key="gan-za")
    seed_b = c2.number_input("Noise seed B", 0, 10**6, 2, key="gan-zb")
    t = c3.slider("t", 0.0, 1.0, 0.5, 0.05, key="gan-t")
    frames = trainer.interpolate(int(seed_a), int(seed_b), np.linspace(0, 1, 9))
    now = trainer.interpolate(int(seed_a), int(seed_b), np.array([t]))
    c1, c2 = st.columns([1, 4])
    with c1:
        ui.show_images(now, per_row=1, scale=5, caption=f"G((1−t)·z_A + t·z_B), t = {t:.2f}")
    with c2:
        ui.show_images(frames, per_row=9, scale=3, caption="t = 0, 0.125, …, 1")


def image_view() -> None:
    from engine.gan.checkpoint import DCGAN_PATH

    status = dataset_status()
    available = [k for k in IMAGE_TITLES if status.get(k) is None] + ["upload"]  # a string says why one is missing
    left, right = st.columns([2, 3])
    with left:
        data = st.selectbox("Images", available, format_func=lambda k: IMAGE_TITLES.get(k, "your images (a zip)"),
                            key="gan-images")
        images, source = uploaded_images() if data == "upload" else (ui.dataset(data).images, data)
        if images is None:
            return
        start_from = "scratch"
        if data == "mnist" and DCGAN_PATH.exists():
            start_from = st.radio("Start from", ["shipped", "scratch"], horizontal=True, key="gan-start", format_func={
                "shipped": "the shipped MNIST generator", "scratch": "random networks"}.get)
        hyper = hyper_widgets("ganimg", dict(loss="nonsaturating", k_d=1, m_g=1, lr_d=3e-4, lr_g=3e-4, gp_weight=10.0))
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="ganimg-seed")
        build = {"data": data, "from": start_from, "seed": int(seed), "images": source}
        with st.spinner("Building the networks…"):
            trainer = trainer_for("gan-img", build, lambda: image_trainer(data, start_from, images, int(seed), hyper))
        if trainer is None:
            return
        controls(trainer, hyper, "ganimg")
        state = trainer.snapshot().state
        st.fragment(run_every=IMAGE_SECONDS if state == "running" else None)(speed_note)(
            trainer, shipped_iterations_to_pass())
    with right:
        st.fragment(run_every=poll_seconds(state, IMAGE_SECONDS))(image_frame)(trainer, state)
        interpolation(trainer)


def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.intro(
        "GAN training, live",
        r"L_D = -\log D(x) - \log\bigl(1 - D(G(z))\bigr) \qquad "
        r"L_G = \log\bigl(1 - D(G(z))\bigr)\ \text{(minimax) or } -\log D(G(z))\ \text{(non-saturating)}",
        "press Play on the ring of 8 Gaussians and watch the purple fakes spread to all 8 green modes. Step only D: "
        "the heat map sharpens around the real points while the fakes stay put. Load the “mode collapse” preset. "
        "Switch the loss to minimax: early on D wins and G's arrows shrink (saturation). Draw your own points. In the "
        "Images tab, continue the shipped MNIST generator or start from scratch.",
        "D's heat map is the decision boundary the fakes climb; the arrows are −∂L_G/∂G(z), where the generator's "
        "loss pushes each sample. With k large D is nearly optimal and G's gradient is informative (non-saturating) "
        "or vanishing (minimax). Mode collapse: the fakes chase one mode after another instead of covering all. "
        "D(x) and D(G(z)) meet near ½ when neither network wins.",
    )
    tab_2d, tab_images = st.tabs(["2-D points (GAN Lab)", "Images (DCGAN)"])
    with tab_2d:
        two_d_view()
    with tab_images:
        image_view()


main()
