"""Word algebra: king − man + woman ≈ queen on real vectors, why analogies work or fail, and your own word2vec."""
from __future__ import annotations


import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.device import configure_threads
from engine.words.corpora import CORPORA, MAX_CORPUS_BYTES, CorpusError, gensim_data, load_corpus, read_uploaded_corpus
from engine.words.files import ExpressionError, VectorFileError, load_vectors, parse_expression, word2vec_text
from engine.words.vectors import (GENSIM_GLOVE_6B_50D_30K, AnalogySection, UnknownWord, WordVectors, analogy_total,
                                  axis_coordinates, evaluate_analogies, evaluate_similarity, glove_6b_50d, pca_plane,
                                  read_analogy_questions)
from engine.words.word2vec import Word2VecConfig, Word2VecJob
from pages import ui

EXAMPLES = ["king - man + woman", "man : king :: woman : queen", "paris - france + italy", "walking - walk + swim",
            "0.5*hot + 0.5*cold", "einstein - scientist + painter", "japan"]
METHODS = {"3cosadd": "3CosAdd", "3cosmul": "3CosMul"}
PROBES = {"lee": "government police australia fire", "wiki": "government war music king"}
MAX_AXIS_WORDS = 300
MAX_UPLOAD_MB = 200


# --- cached loaders ------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading GloVe 6B (400k words × 50)…")
def glove() -> WordVectors:
    return glove_6b_50d()


@st.cache_resource(show_spinner="Reading your vectors…", max_entries=2)
def uploaded_vectors(content_hash: str, _content: bytes, fmt: str, filename: str) -> WordVectors:
    return load_vectors(_content, fmt, name=filename)


@st.cache_data(show_spinner=False)
def analogy_sections() -> list[tuple[str, list]]:
    return read_analogy_questions(gensim_data("questions-words.txt"))


@st.cache_data(show_spinner=False, max_entries=512)
def evaluate_section(vectors_key: str, _wv: WordVectors, section: int, method: str, restrict: int) -> AnalogySection:
    """One section of the Google analogy set, cached per vectors, method and vocabulary limit."""
    return evaluate_analogies(_wv, [analogy_sections()[section]], method, restrict)[0]


@st.cache_data(show_spinner="Scoring WordSim-353 and SimLex-999…", max_entries=8)
def similarity_table(vectors_key: str, _wv: WordVectors) -> pd.DataFrame:
    rows = []
    for title, file in (("WordSim-353 (relatedness)", "wordsim353.tsv"), ("SimLex-999 (similarity)", "simlex999.txt")):
        r = evaluate_similarity(_wv, gensim_data(file))
        rows.append({"benchmark": title, "Spearman ρ": r.spearman, "pairs": r.pairs, "skipped (unknown)": r.skipped})
    return pd.DataFrame(rows)


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=3)
def corpus(name: str) -> list[list[str]]:
    return load_corpus(name)


@st.cache_resource(show_spinner="Reading your corpus…", max_entries=2)
def uploaded_corpus(content_hash: str, _content: bytes, filename: str) -> tuple[list[list[str]], str | None]:
    return read_uploaded_corpus(_content, filename)


# --- sidebar: which vectors -------------------------------------------------------------------------
def uploaded_vectors_input() -> tuple[WordVectors | None, str | None]:
    """The format box and the file uploader; the vectors read and their cache key, or (None, None)."""
    fmt = st.selectbox("Format", ["auto", "word2vec", "word2vec-binary", "glove"],
                       help="auto: a binary body means word2vec binary; a 'count dim' first line means word2vec "
                            "text; otherwise GloVe text.")
    upload = st.file_uploader(f"word2vec text/binary or GloVe text (≤ {MAX_UPLOAD_MB} MB)",
                              type=["txt", "vec", "bin", "w2v", "glove"], max_upload_size=MAX_UPLOAD_MB)
    if upload is None:
        return None, None
    content = upload.getvalue()
    try:
        return (uploaded_vectors(ui.content_hash(content), content, fmt, upload.name),
                f"upload:{ui.content_hash(content)}:{fmt}")
    except VectorFileError as e:
        ui.alert(st.error, "This vectors file cannot be used:", str(e))
        return None, None


def sidebar_vectors() -> tuple[WordVectors, str, int] | None:
    """The sidebar's choice of vectors: (vectors, their cache key, the searched vocabulary), or None."""
    with st.sidebar:
        st.header("Vectors")
        trained = ui.session_result("words-train")
        sources = {"glove": "GloVe 6B, 50-d (400k words)", "upload": "Upload a vectors file"}
        if trained:
            sources = {"trained": "Trained in this session", **sources}
        source = st.radio("Vectors", list(sources), format_func=sources.get, label_visibility="collapsed")
        if source == "glove":
            wv, vectors_key = glove(), "glove"
        elif source == "trained":
            wv, _, vectors_key = trained
        else:
            wv, vectors_key = uploaded_vectors_input()
        if wv is None:
            return None
        st.text(f"{wv.source}: {len(wv):,} words × {wv.dim} dimensions.")
        steps = sorted({n for n in (1_000, 10_000, 30_000, 100_000, len(wv)) if n <= len(wv)})
        restrict = st.select_slider("Search among the most frequent … words", steps, value=steps[-1],
                                    format_func=lambda n: f"{n:,}", key="restrict")
    return wv, vectors_key, restrict


# --- playground ------------------------------------------------------------------------------------
def set_expression() -> None:
    if st.session_state.get("example"):
        st.session_state.expression = st.session_state.example
        st.session_state.example = None


def results_table(wv: WordVectors, terms, method: str, keep_inputs: bool, topn: int, expected: str | None,
                  restrict: int) -> pd.DataFrame:
    inputs = {wv.words[wv.lookup(w)] for _, w in terms}
    answer = wv.words[wv.lookup(expected)] if expected and expected in wv else None
    rows = [{"rank": i + 1, "word": word, "score": score,
             "note": "input word" if word in inputs else ("expected ✓" if word == answer else "")}
            for i, (word, score) in enumerate(wv.query(terms, topn, method, not keep_inputs, restrict))]
    return pd.DataFrame(rows)


def analogy_plot(wv: WordVectors, terms, answer: str | None, neighbours: list[str]) -> go.Figure:
    """PCA of the expression's words, its answers and the target point; arrows for a : b :: c : d."""
    words = list(dict.fromkeys([wv.words[wv.lookup(w)] for _, w in terms] + neighbours))
    points = np.vstack([wv.vectors[[wv.lookup(w) for w in words]], wv.combine(terms)])
    xy = pca_plane(points)
    at = dict(zip(words, xy[:-1]))
    input_words = {wv.words[wv.lookup(w)] for _, w in terms}
    fig = go.Figure()
    weights = sorted(w for w, _ in terms)
    if answer and len(terms) == 3 and weights == [-1.0, 1.0, 1.0]:
        a = next(wv.words[wv.lookup(w)] for w_, w in terms if w_ < 0)
        b, c = [wv.words[wv.lookup(w)] for w_, w in terms if w_ > 0]
        for (start, end), colour, dash in (((a, c), "#d62728", "solid"), ((b, answer), "#d62728", "solid"),
                                           ((a, b), "#1f77b4", "dot"), ((c, answer), "#1f77b4", "dot")):
            fig.add_annotation(x=at[end][0], y=at[end][1], ax=at[start][0], ay=at[start][1], xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=3, arrowwidth=2.5 if dash == "solid" else 1.5,
                               arrowcolor=colour, opacity=0.8 if dash == "solid" else 0.5)
        st.text(f"Red arrows: {a} → {c} and {b} → {answer}, the same offset if the analogy holds. "
                f"Blue: {a} → {b} and {c} → {answer}.")
    kinds = ["input" if w in input_words else ("answer" if w == answer else "neighbour") for w in words]
    for kind, colour, size in (("input", "#1f77b4", 13), ("answer", "#d62728", 15), ("neighbour", "#7f7f7f", 9)):
        pick = [i for i, k in enumerate(kinds) if k == kind]
        fig.add_scatter(x=xy[pick, 0], y=xy[pick, 1], mode="markers+text", text=[ui.plot_label(words[i]) for i in pick],
                        textposition="top center", marker=dict(size=size, color=colour), name=kind)
    fig.add_scatter(x=[xy[-1, 0]], y=[xy[-1, 1]], mode="markers+text", text=["b − a + c" if answer else "Σ wᵢ vᵢ"],
                    textposition="bottom center", marker=dict(symbol="x", size=12, color="black"), name="target")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="PC 1", yaxis_title="PC 2",
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"),
                      title=f"PCA of these words only ({wv.dim}-d → 2-d)")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def expression_input() -> tuple[list | None, str | None, int, bool]:
    """The expression box, its examples, and the answer options: (terms, expected word, answers, keep inputs)."""
    st.session_state.setdefault("expression", EXAMPLES[0])
    st.text_input("Expression", key="expression",
                  help="Words joined by + and −, optional weights (0.5*hot), or an analogy a : b :: c : ? — put the "
                       "expected word instead of ? to see its rank. Case does not matter.")
    st.pills("Examples", EXAMPLES, key="example", on_change=set_expression,
             format_func=lambda example: example.replace("*", r"\*"))  # a label is markdown: keep the *
    c1, c2 = st.columns([1, 3])
    topn = c1.number_input("Answers", 1, 100, 10)
    keep_inputs = c2.toggle("Keep input words", help="The usual evaluation removes the expression's own words from "
                                                      "the answers. Keep them to see what that hides.")
    try:
        terms, expected = parse_expression(st.session_state.expression)
    except ExpressionError as e:
        ui.alert(st.warning, "Check the expression:", str(e))
        terms, expected = None, None
    return terms, expected, topn, keep_inputs


def answers(wv: WordVectors, terms, expected: str | None, topn: int, keep_inputs: bool, restrict: int) -> None:
    """Each method's answers side by side, the expected word's rank, and the PCA picture."""
    st.html("<style>" + "".join(f".st-key-answer-{m} .stText {{font-size: 1.75rem; font-weight: 600}}"
                                for m in METHODS) + "</style>")  # the answer as large as the heading it was
    for column, method in zip(st.columns(2), METHODS):
        with column:
            st.subheader(METHODS[method])
            table = results_table(wv, terms, method, keep_inputs, topn, expected, restrict)
            with st.container(key=f"answer-{method}"):
                st.text(f"→ {table['word'].iloc[0]}" if len(table) else "(no answer)")
            st.dataframe(table, hide_index=True, width="stretch", key=f"results-{method}",
                         column_config={"score": st.column_config.NumberColumn(format="%.3f")})
            if expected:
                rank = wv.rank(terms, expected, method=method, exclude_inputs=not keep_inputs,
                               restrict_vocab=restrict)
                st.metric("Rank of the expected word", f"{rank:,}" if rank else "not a candidate",
                          help="Among the searched words; 1 = the method's answer.")
    first = wv.query(terms, 8, "3cosadd", True, restrict)
    answer = expected or (first[0][0] if first and len(terms) > 1 else None)
    if answer:
        answer = wv.words[wv.lookup(answer)]
    st.plotly_chart(analogy_plot(wv, terms, answer, [w for w, _ in first]), key="analogy-plot")


def playground(wv: WordVectors, restrict: int) -> None:
    terms, expected, topn, keep_inputs = expression_input()
    if not terms:
        return
    unknown = [UnknownWord(w, wv.suggest(w)) for _, w in terms if w not in wv]
    if unknown:
        st.error("Words these vectors do not know:")
    for e in unknown:
        st.text(str(e))
    if len(unknown) == len(terms):
        st.caption("None of the words is known: check the spelling, or switch vectors in the sidebar.")
    if expected and expected not in wv:
        ui.alert(st.warning, "The expected word is unknown, so its rank is not shown:",
              str(UnknownWord(expected, wv.suggest(expected))))
        expected = None
    if not unknown:
        answers(wv, terms, expected, topn, keep_inputs, restrict)


# --- custom axes -------------------------------------------------------------------------------------
def axes_plot(xy: np.ndarray, words: list[str], axis_words: list[str]) -> go.Figure:
    fig = go.Figure(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=[ui.plot_label(w) for w in words],
                               textposition="top center", marker=dict(size=9, color="#1f77b4")))
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title=ui.plot_label(f"{axis_words[0]} → {axis_words[1]}"),
                      yaxis_title=ui.plot_label(f"{axis_words[2]} → {axis_words[3]}"))
    return fig


def custom_axes(wv: WordVectors) -> None:
    st.markdown("Place words on axes **you** define, as in the Embedding Projector's custom projection: "
                "x = how far along the direction from one word to another, the same for y.")
    text = st.text_area("Words (spaces, commas or new lines)", "king queen man woman prince princess boy girl "
                        "father mother uncle aunt doctor nurse rich poor millionaire beggar actor actress", height=90)
    c1, c2, c3, c4 = st.columns(4)
    x_from, x_to = c1.text_input("x from", "man"), c2.text_input("x to", "woman")
    y_from, y_to = c3.text_input("y from", "poor"), c4.text_input("y to", "rich")
    listed = list(dict.fromkeys(w for w in text.replace(",", " ").split() if w))
    known = [w for w in listed if w in wv][:MAX_AXIS_WORDS]
    missing = [w for w in listed if w not in wv]
    if missing:
        ui.alert(st.warning, "Not in the vocabulary, left out:", ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))
    if len([w for w in listed if w in wv]) > MAX_AXIS_WORDS:
        st.warning(f"Only the first {MAX_AXIS_WORDS} words are placed.")
    axis_words = [x_from.strip(), x_to.strip(), y_from.strip(), y_to.strip()]
    bad_axes = [w or "(empty)" for w in axis_words if not w or w not in wv]
    if bad_axes:
        ui.alert(st.warning, "Axis words not in the vocabulary (pick words these vectors know):", ", ".join(bad_axes))
        return
    if not known:
        st.info("Type some words to place.")
        return
    try:
        xy = axis_coordinates(wv, known, (axis_words[0], axis_words[1]), (axis_words[2], axis_words[3]))
    except ValueError as e:
        ui.alert(st.error, "This axis cannot be drawn:", str(e))
        return
    st.plotly_chart(axes_plot(xy, known, axis_words), key="axes-plot")
    st.caption("Coordinate = cosine-normalised vector · unit direction (to − from). The two directions are "
               "not forced to be orthogonal, as in the Embedding Projector.")


# --- benchmark -----------------------------------------------------------------------------------------
def run_benchmark(wv: WordVectors, vectors_key: str, names: list[str], picked: list[int], restrict: int) -> None:
    """Score the picked sections with both methods into the cache, with a progress bar."""
    bar = st.progress(0.0, text="Starting…")
    for i, s in enumerate(picked):
        for j, method in enumerate(METHODS):
            bar.progress((2 * i + j) / (2 * len(picked)), text=f"{names[s]} · {METHODS[method]}")
            evaluate_section(vectors_key, wv, s, method, restrict)
    bar.empty()


def benchmark_table(results: dict[str, list[AnalogySection]], names: list[str], picked: list[int]) -> pd.DataFrame:
    """A row per section, accuracy per method, and a total row when there are several sections."""
    rows = [{"section": names[s], "questions": results["3cosadd"][k].total,
             "3CosAdd": results["3cosadd"][k].accuracy, "3CosMul": results["3cosmul"][k].accuracy}
            for k, s in enumerate(picked)]
    if len(picked) > 1:
        totals = {m: analogy_total(results[m]) for m in METHODS}
        rows.append({"section": "total", "questions": totals["3cosadd"].total,
                     **{METHODS[m]: totals[m].accuracy for m in METHODS}})
    return pd.DataFrame(rows)


def benchmark_caption(wv: WordVectors, results: dict[str, list[AnalogySection]], restrict: int,
                      reference: bool) -> str:
    """What this run measured; gensim's figure only where it was measured: GloVe, all sections, 30,000 words."""
    totals = {m: analogy_total(results[m]) for m in METHODS}
    scores = ", ".join(f"{METHODS[m]} {t.correct:,}/{t.total:,} = {100 * t.accuracy:.2f} %" for m, t in totals.items())
    seconds = sum(t.seconds for t in totals.values())
    text = f"{wv.source}, vocabulary {restrict:,}: {scores}; scoring took {seconds:.1f} s on this server."
    if reference:
        correct, total = GENSIM_GLOVE_6B_50D_30K
        text += (f" Reference: our own run of gensim's evaluate_word_analogies on these vectors at 30,000 words "
                 f"(not a figure gensim published) gives {correct:,}/{total:,} = {100 * correct / total:.2f} % "
                 "with 3CosAdd.")
    return text


def failures_browser(wv: WordVectors, results: dict[str, list[AnalogySection]], sections: list[str],
                     restrict: int) -> None:
    """The wrong answers of one section and method; a selected row shows where the expected word ranked."""
    st.subheader("Failures")
    c1, c2 = st.columns([1, 2])
    fail_method = c1.radio("Method", list(METHODS), format_func=METHODS.get, horizontal=True, key="fail-method")
    fail_section = c2.selectbox("Section", sections, key="fail-section")
    section_result = results[fail_method][sections.index(fail_section)]
    failures = pd.DataFrame(section_result.failures, columns=["a", "b", "c", "expected", "predicted"])
    st.caption(f"{len(failures):,} of {section_result.total:,} questions wrong. Each row reads a : b :: c : "
               "expected; select a row to see where the expected word ranked.")
    selection = st.dataframe(failures, hide_index=True, width="stretch", height=300, key="failures",
                             on_select="rerun", selection_mode="single-row")
    if selection.selection.rows:
        a, b, c, expected_word, predicted = failures.iloc[selection.selection.rows[0]]
        question = [(-1.0, a), (1.0, b), (1.0, c)]
        rank = wv.rank(question, expected_word, method=fail_method, restrict_vocab=restrict)
        top = ", ".join(w for w, _ in wv.query(question, 5, fail_method, True, restrict))
        st.text(f"{a} : {b} :: {c} : ? — expected {expected_word} is at rank {rank or '—'}; the top five are {top}.")
        st.caption("Type this in the Playground to see it plotted:")
        st.code(f"{a} : {b} :: {c} : {expected_word}", language=None)


def similarity_benchmarks(wv: WordVectors, vectors_key: str) -> None:
    with st.expander("Word similarity: WordSim-353 and SimLex-999"):
        st.dataframe(similarity_table(vectors_key, wv), hide_index=True,
                     column_config={"Spearman ρ": st.column_config.NumberColumn(format="%.3f")})
        st.caption("Spearman correlation between cosine similarity and human ratings. WordSim-353 rewards "
                   "relatedness (cup–coffee), SimLex-999 true similarity: word2vec-style vectors do much better on "
                   "the first.")


def benchmark(wv: WordVectors, vectors_key: str) -> None:
    sections = analogy_sections()
    names = [name for name, _ in sections]
    st.markdown(f"The Google analogy set (Mikolov et al. 2013, {sum(len(q) for _, q in sections):,} questions in "
                f"{len(sections)} sections), counted exactly as gensim's `evaluate_word_analogies`: questions with a "
                "word outside the searched vocabulary are skipped, input words never count as answers.")
    c1, c2, c3 = st.columns([2, 1, 1])
    chosen = c1.selectbox("Sections", ["all"] + names,
                          format_func=lambda n: f"All {len(sections)} sections" if n == "all" else n)
    restrict = c2.select_slider("Vocabulary", sorted({min(n, len(wv)) for n in (10_000, 30_000, 100_000, len(wv))}),
                                value=min(30_000, len(wv)), format_func=lambda n: f"{n:,}")
    c3.write("")
    run = c3.button("Run benchmark", type="primary")
    picked = list(range(len(sections))) if chosen == "all" else [names.index(chosen)]
    state_key = f"bench:{vectors_key}:{chosen}:{restrict}"
    if run:
        run_benchmark(wv, vectors_key, names, picked, restrict)
        st.session_state["bench-shown"] = state_key
    if st.session_state.get("bench-shown") == state_key:
        results = {m: [evaluate_section(vectors_key, wv, s, m, restrict) for s in picked] for m in METHODS}
        table = benchmark_table(results, names, picked)
        percent = st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)
        st.dataframe(table, hide_index=True, width="stretch", key="bench-table", height=35 * (len(table) + 1) + 3,
                     column_config={"3CosAdd": percent, "3CosMul": percent})
        reference = vectors_key == "glove" and chosen == "all" and restrict == 30_000
        st.text(benchmark_caption(wv, results, restrict, reference))
        failures_browser(wv, results, [names[s] for s in picked], restrict)
    else:
        st.caption("Pick sections and press Run: each section's accuracy, and the time it takes on this server, "
                   "appear here.")
    similarity_benchmarks(wv, vectors_key)


# --- train your own -------------------------------------------------------------------------------------
def corpus_input() -> tuple[str, dict[str, str], list[list[str]] | None]:
    """The corpus choice (a shipped one or an upload): (its name, the choices' titles, its sentences or None)."""
    choices = {**{k: c.title for k, c in CORPORA.items()}, "upload": "Upload a .txt corpus"}
    corpus_name = st.radio("Corpus", list(choices), format_func=choices.get, horizontal=True)
    sentences = None
    if corpus_name == "upload":
        upload = st.file_uploader(f"Plain text, UTF-8 (≤ {MAX_CORPUS_BYTES // 2**20} MB)", type=["txt", "cor"],
                                  max_upload_size=MAX_CORPUS_BYTES // 2**20)
        if upload is not None:
            content = upload.getvalue()
            try:
                sentences, warning = uploaded_corpus(ui.content_hash(content), content, upload.name)
                if warning:
                    ui.alert(st.warning, "Your corpus was read with a fallback:", warning)
            except CorpusError as e:
                ui.alert(st.error, "This corpus cannot be used:", str(e))
    else:
        sentences = corpus(corpus_name)
        st.caption(CORPORA[corpus_name].about)
    if sentences:
        st.caption(f"{sum(map(len, sentences)):,} tokens in {len(sentences):,} lines.")
    return corpus_name, choices, sentences


def train_progress() -> None:
    """The running or finished job: progress, loss curve, the probe words' neighbours, then the download."""
    slot = ui.job_slot("words-train")
    if slot.job is None:
        st.caption("No vectors trained in this session yet.")
        return
    snap = slot.job.snapshot()
    if snap.queue:
        ui.queued_note(snap.queue)
        st.button("Leave the queue", on_click=slot.job.stop, key="w2v-stop")
        return
    frac = snap.words_done / snap.words_total if snap.words_total else 0.0
    st.progress(min(1.0, frac), text=f"{slot.meta.get('title', '')} · epoch {snap.epoch}/{snap.epochs} · "
                                     f"{snap.words_per_second:,.0f} words/s · {snap.seconds:.1f} s")
    left, right = st.columns([3, 2])
    with left:
        if snap.losses:
            fig = go.Figure(go.Scatter(y=snap.losses, mode="lines", name="loss"))
            fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="report (every 20 steps)",
                              yaxis_title="negative-sampling loss", title="−log σ(u·v) − Σₖ log σ(−uₖ·v)")
            st.plotly_chart(fig, key="w2v-loss")
        elif not snap.finished:
            st.caption("gensim reports after each epoch; its loss is not shown.")
    with right:
        if snap.probes:
            st.dataframe(pd.DataFrame({p: (n + [""] * 6)[:6] for p, n in snap.probes.items()}), hide_index=True,
                         key="w2v-probes")
            st.caption("Nearest words of each probe word now (empty: not in the vocabulary).")
    if not snap.finished:
        st.button("Stop training", on_click=slot.job.stop, key="w2v-stop")
        return
    if snap.state == "failed":
        ui.alert(st.error, "Training failed:", snap.error)
    elif slot.job.result is None:
        st.caption("Left the queue before its turn: nothing was trained.")
    else:
        st.success(f"Training {snap.state} after {snap.seconds:.1f} s. Pick “Trained in this session” under Vectors "
                   "in the sidebar to use these vectors in the playground and the benchmark.")
        st.download_button("Download (word2vec text format)", word2vec_text(slot.job.result), "vectors.txt",
                           mime="text/plain", key="w2v-download")
    if not slot.meta.get("shown_done"):
        slot.meta["shown_done"] = True
        st.rerun(scope="app")  # the sidebar offers the new vectors; the form takes a new run


def train_your_own() -> None:
    slot = ui.job_slot("words-train")
    running = slot.job is not None and not slot.job.snapshot().finished
    st.info("A small corpus gives sensible neighbours but **weak analogies**: these corpora have 60k–480k words, "
            "GloVe was trained on 6 billion. Expect topical neighbours (fire → firefighters, overnight) rather than king − man + woman.")
    corpus_name, choices, sentences = corpus_input()
    with st.form("w2v-form"):
        c1, c2, c3, c4 = st.columns(4)
        backend = c1.selectbox("Backend", ["torch", "gensim"], format_func={
            "torch": "PyTorch (shows the loss)", "gensim": "gensim (fast, C)"}.get)
        model = c2.selectbox("Model", ["skipgram", "cbow"], format_func={"skipgram": "skip-gram",
                                                                         "cbow": "CBOW"}.get)
        dim = c3.number_input("Dimensions", 2, 1000, 50)
        epochs = c4.number_input("Epochs", 1, 1000, 5)
        c1, c2, c3, c4 = st.columns(4)
        window = c1.number_input("Window", 1, 50, 5)
        negative = c2.number_input("Negative samples k", 1, 50, 5)
        min_count = c3.number_input("min_count", 1, 10**9, 5)
        seed = c4.number_input("Seed", 0, 2**31 - 1, 0)
        probes = st.text_input("Probe words (their neighbours are shown while training)",
                               PROBES.get(corpus_name, ""), key=f"probes-{corpus_name}")
        start = st.form_submit_button("Start training", type="primary", disabled=running or not sentences)
    if start and not running and sentences:
        try:
            config = Word2VecConfig(model=model, backend=backend, dim=int(dim), window=int(window),
                                    negative=int(negative), min_count=int(min_count), epochs=int(epochs),
                                    seed=int(seed))
            probe_words = list(dict.fromkeys(probes.lower().split()))[:8]
            slot.job = Word2VecJob(sentences, config, probe_words).start()
            slot.meta = {"title": f"{model} ({backend}), {dim}-d, {choices[corpus_name]}", "shown_done": False}
            st.rerun()  # redraw the form with its button disabled while this job runs
        except ValueError as e:
            st.error(str(e))
    ui.job_notice("words-train", "word2vec training")
    st.fragment(run_every=0.5 if running else None)(train_progress)()


# --- the page -------------------------------------------------------------------------------------------
def main() -> None:
    ui.use_app_navigation()
    configure_threads()
    ui.intro(
        "Word algebra",
        r"v_{\text{king}} - v_{\text{man}} + v_{\text{woman}} \approx v_{\text{queen}}"
        r"\qquad \text{3CosAdd: } \arg\max_x \cos(x,\, b - a + c)"
        r"\qquad \text{3CosMul: } \arg\max_x \frac{\cos'(x,b)\,\cos'(x,c)}{\cos'(x,a) + \varepsilon}",
        "type `king - man + woman`, then `man : king :: woman : queen` to see the expected word's rank. Turn on "
        "“keep input words”. Try `paris - france + italy`, `walking - walk + swim`, `0.5*hot + 0.5*cold`, one word "
        "for its neighbours. In Custom axes, put man → woman on x and poor → rich on y. Run the benchmark and browse "
        "the failures of a section. Train word2vec on the news corpus and watch “police” find its neighbours.",
        "keeping the input words, “king” itself is usually closest to king − man + woman: the customary exclusion of "
        "the inputs does a lot of the work. The offsets man→woman and king→queen are roughly parallel in the plot. "
        "Capitals and plurals work far better than opposites or spelling (see the benchmark sections). Vectors from a "
        "60k-word corpus give sensible neighbours but weak analogies: GloVe saw 6 billion words.",
    )
    vectors = sidebar_vectors()
    if vectors is None:
        st.info("Upload a vectors file in the sidebar, or pick GloVe.")
        return
    wv, vectors_key, restrict = vectors
    play_tab, axes_tab, bench_tab, train_tab = st.tabs(["Playground", "Custom axes", "Benchmark", "Train your own"])
    with play_tab:
        playground(wv, restrict)
    with axes_tab:
        custom_axes(wv)
    with bench_tab:
        benchmark(wv, vectors_key)
    with train_tab:
        train_your_own()


main()
