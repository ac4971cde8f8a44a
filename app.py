"""Latent Lab: navigation, the home page, and the server's extra routes.

Streamlit runs this file twice over: imported once as the module `app`, whose `app` (an st.App) is the server —
Streamlit's own routes plus the Gradio widgets at <baseUrlPath>/gradio/<name>/ on the same port — and run as the
script `__main__` of every browser session, which draws the navigation.
"""
import streamlit as st


def home() -> None:
    st.title("Latent Lab")
    st.markdown(
        "See unsupervised deep learning work, in the browser, on real models and real data. "
        "Each page is one idea of the lecture; every model runs here, on this machine."
    )
    st.subheader("Latent-space explorer")
    st.latex(r"L = \|x - \mathrm{Dec}(\mathrm{Enc}(x))\|^2 \;(+\,\lambda\textstyle\sum_i|\mathrm{Enc}_i(x)|"
             r"\ \text{sparse},\ x \to x + \sigma\varepsilon\ \text{denoising})")
    st.markdown(
        "Autoencoders (linear = PCA, deep, convolutional, VAE) squeeze images into a small code. Map the codes "
        "with PCA, t-SNE or UMAP, hover to see images, select regions, find neighbours by code, and decode "
        "points where no image exists."
    )
    st.page_link("pages/explorer.py", label="Open the explorer", icon="🧭")
    st.subheader("Autoencoder lab")
    st.latex(r"L = \|x - \mathrm{Dec}(\mathrm{Enc}(x + \sigma\varepsilon))\|^2 + \lambda\textstyle\sum_i|\mathrm{Enc}_i(x)|")
    st.markdown(
        "Why an autoencoder with a big code must be regularised: train one with no regulariser next to sparse, "
        "denoising and dropout versions and measure how much noise each copies. See the filters each learns on "
        "photo patches; measure whether its code helps a classifier with few labels, or as pretraining, and when "
        "it does not (digits on photo backgrounds); denoise digits with a slider and read the PSNR."
    )
    st.page_link("pages/ae_lab.py", label="Open the autoencoder lab", icon="🧰")
    st.subheader("Word algebra")
    st.latex(r"v_{\text{king}} - v_{\text{man}} + v_{\text{woman}} \approx v_{\text{queen}}")
    st.markdown(
        "Real GloVe vectors (400k words): analogies with 3CosAdd and 3CosMul side by side, the words on a plot with "
        "their offsets, axes you define, the Google analogy benchmark live with its failures, and word2vec "
        "(skip-gram / CBOW, negative sampling) trained here while you watch the neighbours change."
    )
    st.page_link("pages/words.py", label="Open word algebra", icon="🔤")
    st.subheader("GANs, live")
    st.latex(r"L_D = -\log D(x) - \log(1 - D(G(z))), \quad L_G = -\log D(G(z)) \quad (k \text{ D steps per G step})")
    st.markdown(
        "A GAN Lab for 2-D points (rings, spirals, moons, or points you draw or upload): D's decision as a heat map, "
        "G's gradient arrows, loss and D(x)/D(G(z)) curves, play, pause, single D or G steps, mode collapse on one "
        "click. And a DCGAN that learns MNIST digits while you watch, scored by a digit classifier."
    )
    st.page_link("pages/gan.py", label="Open the GAN view", icon="🎲")
    st.subheader("Style transfer")
    st.latex(r"L = \sum_l w_l\,\|\mathrm{Gram}_l(x) - \mathrm{Gram}_l(x_{\text{style}})\|^2 "
             r"+ \alpha\,\|F(x) - F(x_{\text{content}})\|^2")
    st.markdown(
        "Drop a photo into the Gradio widget and get it back stylized by one pass of a network, timed on this "
        "machine (Magenta's arbitrary-style network, 26 built-in styles, blends, keep-the-colours). Then watch the "
        "lecture's optimisation move the pixels live, with its content, per-layer style and TV losses, or synthesise "
        "a texture from noise."
    )
    st.page_link("pages/style.py", label="Open style transfer", icon="🎨")
    st.subheader("Morphing and attribute vectors")
    st.latex(r"x(t) = \mathrm{Dec}\bigl((1-t)\,c_1 + t\,c_2\bigr), \qquad "
             r"x' = \mathrm{Dec}\bigl(\mathrm{Enc}(x) + s\,(\bar c_{\text{smile}} - \bar c_{\text{no smile}})\bigr)")
    st.markdown(
        "Drag a slider between two faces (real LFW faces, procedural faces with known attributes, or two photos you "
        "upload) and compare the decoded morph with a pixel cross-fade. Add glasses, a smile or a mustache to any "
        "face with a vector from labels or from faces you pick, and see PCA, a conv AE and a VAE do the same edit."
    )
    st.page_link("pages/morph.py", label="Open morphing", icon="🎭")
    st.subheader("Domain adaptation")
    st.latex(r"\min_{h,\,y}\max_{d}\; L_{\text{label}}(y(h(x_s)), y_s) - \lambda\, L_{\text{domain}}(d(h(x)))")
    st.markdown(
        "Watch a network learn to read digits on photos it never saw a label for (DANN, Ganin & Lempitsky): a domain "
        "classifier tries to tell handwritten digits from digits on photos by their features, and a gradient "
        "reversal layer trains the features to fool it. Live accuracy curves, the features of both domains before "
        "and after, and the two bounds: no adaptation, and training on the target's own labels."
    )
    st.page_link("pages/domain.py", label="Open domain adaptation", icon="🔀")
    st.caption("Runs offline: datasets and weights come from installed packages and the shipped checkpoints.")


PAGES = [("explorer", "Latent-space explorer", "🧭"), ("ae_lab", "Autoencoder lab", "🧰"), ("words", "Word algebra", "🔤"),
         ("gan", "GANs, live", "🎲"), ("style", "Style transfer", "🎨"), ("morph", "Morphing", "🎭"),
         ("domain", "Domain adaptation", "🔀")]  # url path = file stem, title, icon


def navigation() -> None:
    st.set_page_config(page_title="Latent Lab", page_icon="🧪", layout="wide")
    st.navigation([st.Page(home, title="Home", icon="🏠", default=True)]
                  + [st.Page(f"pages/{path}.py", title=title, icon=icon, url_path=path) for path, title, icon in PAGES]
                  ).run()


if __name__ == "__main__":
    navigation()
else:
    import asyncio
    import contextlib
    import importlib

    # Imported once here, before any session runs: the pages reach pandas lazily (through plotly) while the UMAP
    # warm-up thread imports it too, and a thread can then see a half-imported module ("no attribute 'Series'").
    importlib.import_module("pandas")

    from pages.ui import gradio_embed, morph_widget, style_widget, warmup

    routes, widgets_lifespan = gradio_embed.routes({"style": style_widget.build, "morph": morph_widget.build})

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with widgets_lifespan(_app):
            warming = asyncio.create_task(warmup.warm([""] + [path for path, _, _ in PAGES]))
            yield
            warming.cancel()

    app = st.App("app.py", routes=routes, lifespan=lifespan)
