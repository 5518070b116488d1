"""Page logic of the Evolution, Learned vs pretrained and Documents views (AppTest, no
browser): the figures' JSON, the widgets and the messages, over a tiny stored run whose views
the engine computed with PCA."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO, labelled, open_app

APP = str(REPO / "dashboard" / "app.py")


def _train(root, views: bool, **kw):
    from core.jobs.engine import Engine
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    store = RunStore(root)
    ds = labelled(3)
    run_id = train_run(ds, TrainConfig(epochs=3, batch_size=8, doc_sample=12, **kw),
                       store).run_id
    if views:
        Engine(store, warm=False, method="pca").tick()
    return run_id


@pytest.fixture(scope="module")
def ready_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("views2") / "runs"
    return root, _train(root, views=True)


@pytest.fixture
def app(ready_store, monkeypatch):
    root, run_id = ready_store
    return open_app(root, monkeypatch, run_id)


def open_page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"screens/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def arr(value) -> np.ndarray:
    """A figure array from the JSON: plotly writes numpy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def tables(at: AppTest, column: str) -> list:
    """The dataframes shown with this column, in page order (AppTest keeps no keys on them)."""
    return [d.value for d in list(at.dataframe) + list(at.table) if column in d.value.columns]


def figures(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def figure(at: AppTest, prefix: str) -> dict:
    found = [s for title, s in figures(at).items() if title.startswith(prefix)]
    assert found, f"no figure titled {prefix!r}: {list(figures(at))}"
    return found[0]


# ------------------------------------------------------------------------------ Evolution
def evolution(at: AppTest) -> dict:
    """What the Evolution map's component was given: ``figure`` (built with the first
    colouring, no highlight), ``colours`` (each colouring's layer), the highlight
    ``overlay`` and the chosen ``colour``."""
    found = [e.proto for e in at.get("component_instance")
             if e.proto.component_name.endswith("evolution_chart")]
    assert len(found) == 1, "no Evolution map"
    args = json.loads(found[0].json_args)
    body = json.loads(next(a.bytes for a in found[0].special_args if a.key == "figure"))
    return dict(body, overlay=json.loads(args["overlay"]), colour=args["colour"])


def points(traces: list) -> tuple[list, np.ndarray]:
    """Hover texts (the part sent once, then the frame's own) and x of the word points (not
    the grey points under them or the trails' hover points; animation frames carry only what
    changes)."""
    own = [t for t in traces if t.get("meta") == "points"]
    hover = [f"{c}<br>{h}" if c else h for t in own
             for c, h in zip(t.get("customdata") or [""] * len(t.get("hovertext") or []),
                             t.get("hovertext") or [])]
    xs = [arr(t["x"]) for t in own if t.get("x") is not None]
    return hover, np.concatenate(xs) if xs else np.zeros(0)


def test_evolution_animates_every_snapshot_with_neighbors_in_the_hover(app, ready_store):
    from core.store.runstore import RunStore

    open_page(app, "evolution")
    fig = evolution(app)["figure"]
    assert len(fig["frames"]) == 4  # start + 3 epochs
    steps = fig["layout"]["sliders"][0]["steps"]
    labels = ["start", "epoch 1", "epoch 2", "epoch 3"]
    best = RunStore(ready_store[0]).get_run(ready_store[1]).best()["epoch"]
    labels[best] += " (best)"  # the lowest validation loss, marked on the slider
    assert [s["label"] for s in steps] == labels
    assert fig["data"][0]["type"] == "scattergl"
    hover, _ = points(fig["data"])
    good = next(h for h in hover if h.startswith("<b>good</b>"))
    assert "nearest now:" in good and "trained on" in good
    frame0 = points(fig["frames"][0]["data"])[0]  # each frame's hover names its own neighbours
    assert len(frame0) == len(hover) and all(h.startswith("nearest now:") for h in frame0)
    # a word's position differs between the first and the last frame: the vectors moved
    first, last = points(fig["frames"][0]["data"])[1], points(fig["frames"][-1]["data"])[1]
    assert len(first) == len(hover)
    assert not np.allclose(first, last)
    assert figure(app, "Most-moved words")["data"][0]["type"] == "bar"
    assert any("Drift" in t for t in figures(app))


def test_evolution_highlights_a_word_with_its_trail(app):
    open_page(app, "evolution")
    app.multiselect(key="w_evo_words").set_value(["good", "bad"]).run()
    assert not app.exception
    overlay = evolution(app)["overlay"]
    assert [name for name, _ in overlay["legend"]] == ["trail: good", "trail: bad"]
    trails = [s for s in overlay["trails"] if s["type"] == "path"]
    assert [s["name"] for s in trails] == ["trail: good", "trail: bad"]
    assert all(s["path"].count("L") == 3 for s in trails)  # one point per snapshot
    assert overlay["hover"]["hovertext"][:2] == ["good — start", "good — epoch 1"]
    # every frame circles both words where they are in that snapshot and labels them
    for frame in overlay["frames"]:
        assert [s["label"]["text"] for s in frame if "label" in s] == ["good", "bad"]
        assert [s["type"] for s in frame].count("circle") == 2
    first, last = overlay["frames"][0][0]["xanchor"], overlay["frames"][-1][0]["xanchor"]
    assert first != last  # "good" moved


def test_evolution_all_words_added_words_and_trustworthiness(app, ready_store):
    from core.store.runstore import RunStore

    open_page(app, "evolution")
    fig = evolution(app)["figure"]
    n_top = len(points(fig["data"])[0])
    assert "trustworthiness 0." in fig["layout"]["title"]["text"]  # per frame, own and last
    assert "against the last one" in fig["frames"][0]["layout"]["title"]["text"]
    assert any("Trustworthiness" in c.value for c in app.caption)
    app.radio(key="w_evo_scope").set_value("all words (up to 50,000)").run()
    assert not app.exception
    assert any(c.value.startswith("PCA layout") for c in app.caption)
    root, run_id = ready_store
    n_vocab = len(RunStore(root).load_vocab(run_id)) - 2  # every word but <pad> and <unk>
    assert len(points(evolution(app)["figure"]["data"])[0]) == n_vocab
    app.radio(key="w_evo_scope").set_value("most frequent").run()
    app.text_input(key="w_evo_add").set_value("Himalayas, zebra").run()
    assert not app.error and not app.exception  # an unknown word does not blank the page
    assert any("zebra" in c.value for c in app.caption)  # it is named beside the input
    hover = points(evolution(app)["figure"]["data"])[0]
    assert any(h.startswith("<b>himalayas</b>") for h in hover)
    assert len(hover) >= n_top


def test_evolution_picture_is_built_once_per_run_state(app, monkeypatch):
    """A switch back to Evolution reuses the figure and payload built on the first visit
    (kept per server process); other words shown make another one."""
    from dashboard import evolution_picture
    from dashboard.components import evolution_chart

    evolution_picture._picture.clear()
    built, real = [], evolution_chart.payload
    monkeypatch.setattr(evolution_chart, "payload",
                        lambda *a, **kw: built.append(1) or real(*a, **kw))
    open_page(app, "evolution")
    first = evolution(app)["figure"]
    open_page(app, "lookup")
    open_page(app, "evolution")
    assert len(built) == 1 and evolution(app)["figure"] == first
    app.text_input(key="w_evo_add").set_value("himalayas").run()
    assert len(built) == 2


def test_evolution_colour_choices(app):
    open_page(app, "evolution")
    options = app.selectbox(key="w_evo_color").options
    assert options[0].startswith("leaning to 'pos'")  # binary bag run: classifier direction
    assert "seen vs never seen in training" in options
    # the steps that touched each word's row so far: grows over the frames, one fixed range
    updates = evolution(app)["colours"][options.index("updates received so far (log10)")]
    first, last = (arr(v) for v in (updates["values"][0], updates["values"][-1]))
    assert first.max() == 0 and last.max() > 0 and (last >= first).all()
    assert updates["marker"]["cmax"] == pytest.approx(float(last.max()))
    app.selectbox(key="w_evo_color").set_value("seen vs never seen in training").run()
    chart = evolution(app)
    assert options[chart["colour"]] == "seen vs never seen in training"
    names = [name for name, _ in chart["colours"][chart["colour"]]["legend"]]
    assert names[0].startswith("seen in training") and names[1].startswith("never seen")


def test_no_run_points_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_STORE", str(tmp_path / "empty"))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for name in ("evolution", "compare", "documents"):
        open_page(at, name)
        assert any("Train" in i.value for i in at.info), name
        assert not at.get("plotly_chart")


def test_views_not_computed_yet_show_pca_and_say_so(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    _train(root, views=False)  # no engine: the UMAP views stay pending
    monkeypatch.setenv("EXPLORER_STORE", str(root))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    open_page(at, "evolution")
    assert any("frames and their trustworthiness are coming" in c.value for c in at.caption)
    assert len(evolution(at)["figure"]["frames"]) == 4  # PCA frames meanwhile
    assert any("being computed" in i.value for i in at.info)  # drift needs the comparison


# ------------------------------------------------------------------------------ Compare
def test_compare_lists_a_words_neighbors_in_both_spaces(app):
    open_page(app, "compare")
    app.selectbox(key="w_cmp_word").set_value("good").run()
    assert not app.exception
    assert any(s.value == "Neighbours of 'good'" for s in app.subheader)
    table = tables(app, "GloVe")[0]
    assert list(table.columns) == ["learned (epoch 3)", "GloVe"] and len(table) == 10
    assert "good" not in set(table["GloVe"])  # a word is not its own neighbour
    learned = figure(app, "Learned — epoch 3")
    glove = figure(app, "GloVe 6B 50d")
    for fig, column in ((learned, "learned (epoch 3)"), (glove, "GloVe")):
        near = next(t for t in fig["data"] if t["name"] == "its neighbours here")
        assert set(near["text"]) <= set(table[column]) and near["text"]
        assert next(t for t in fig["data"] if t["name"] == "searched")["text"] == ["good"]
    assert any("Gained" in m.value for m in app.markdown)


def test_compare_epoch_slider_and_global_measures(app):
    open_page(app, "compare")
    app.select_slider(key="w_cmp_epoch").set_value("start").run()
    assert figure(app, "Learned — start")
    assert "(start)" in figure(app, "Jaccard@10")["layout"]["title"]["text"]
    lines = {t["name"].split(" (over ")[0]: t
             for t in figure(app, "Learned space vs GloVe")["data"]}
    assert len(arr(lines["mean Jaccard@k with GloVe"]["y"])) == 4
    assert "validation accuracy" in lines
    most, least = tables(app, "jaccard")
    assert most["jaccard"].is_monotonic_increasing and least["jaccard"].is_monotonic_decreasing


def test_word2vec_run_offers_its_init_vectors_as_a_third_space(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    _train(root, views=True, init="word2vec")
    monkeypatch.setenv("EXPLORER_STORE", str(root))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    open_page(at, "compare")
    assert figure(at, "GloVe 6B 50d")
    at.selectbox(key="w_cmp_word").set_value("good").run()
    glove = tables(at, "GloVe")[0]["GloVe"].tolist()
    at.radio(key="w_cmp_space").set_value("init").run()
    assert not at.exception and not at.error
    # everything on the page now compares with the init vectors, not only the right map
    init_table = tables(at, "its init vectors")[0]
    assert list(init_table.columns) == ["learned (epoch 3)", "its init vectors"]
    assert init_table["its init vectors"].tolist() != glove
    init = figure(at, "its init vectors (word2vec")
    near = next(t for t in init["data"] if t["name"] == "its neighbours here")
    assert set(near["text"]) <= set(init_table["its init vectors"])
    assert figure(at, "Jaccard@10 with the neighbours in its init vectors")
    assert figure(at, "Learned space vs its init vectors")


# ------------------------------------------------------------------------------ Documents
def test_documents_side_by_side_with_scores(app):
    open_page(app, "documents")
    learned = figure(app, "Learned: after the embedding — epoch 3")
    pretrained = figure(app, "Pretrained: mean of GloVe vectors")
    for fig in (learned, pretrained):
        assert [t["name"] for t in fig["data"]] == ["neg", "pos"]
        assert sum(len(arr(t["x"])) for t in fig["data"]) == 12  # the validation sample
    texts = {w for t in learned["data"] for w in t["hovertext"]}
    assert any(" " in t.split("<br>", 1)[1] for t in texts)  # the document's text
    labels = [m.label for m in app.metric]
    assert labels == ["5-NN accuracy, learned", "5-NN accuracy, GloVe mean",
                      "Silhouette, learned", "Silhouette, GloVe mean"]
    before = arr(learned["data"][0]["x"])
    app.select_slider(key="w_doc_epoch").set_value("start").run()
    after = arr(figure(app, "Learned: after the embedding — start")["data"][0]["x"])
    assert not np.allclose(before, after)


def _copied_store(ready_store, tmp_path, monkeypatch):
    import shutil

    root, first = ready_store
    app_root = tmp_path / "runs"
    shutil.copytree(root, app_root)
    monkeypatch.setenv("EXPLORER_STORE", str(app_root))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    return app_root, first


def _documents(first: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = first
    at.run()
    return open_page(at, "documents")


def test_run_picker_is_local_until_make_active(ready_store, tmp_path, monkeypatch):
    app_root, first = _copied_store(ready_store, tmp_path, monkeypatch)
    second = _train(app_root, views=True)
    at = _documents(first)
    picker = at.selectbox(key=f"w_view_run_documents_{first}")
    assert picker.value == first
    label = picker.format_func(second)  # data set, init, arch, size, best accuracy, id
    assert second in label and "random" in label and "bag" in label and "best" in label
    picker.set_value(second).run()
    assert at.session_state["active_run"] == first  # picking shows it on this page only
    assert any("this page only" in c.value for c in at.caption)
    [make] = [b for b in at.button if b.label == "Make active"]
    make.click().run()
    assert at.session_state["active_run"] == second
    assert at.query_params["run"] == second


def test_experiment_runs_are_hidden_from_the_picker_until_asked(ready_store, tmp_path,
                                                                monkeypatch):
    from core.store.runstore import RunStore

    app_root, first = _copied_store(ready_store, tmp_path, monkeypatch)
    store = RunStore(app_root)
    exp = store.create_job("experiment", {}, info={"dataset_id": "e" * 64,
                                                    "dataset_name": "reviews.csv"},
                           status="done")
    member = store.create_run({"arch": "bag", "init": "glove"}, label=f"experiment:{exp}",
                              status="done")
    at = _documents(first)
    picker = at.selectbox(key=f"w_view_run_documents_{first}")
    assert not any(member in o for o in picker.options)
    assert any(first in o for o in picker.options)
    at.toggle(key="w_run_exps_documents").set_value(True).run()
    picker = at.selectbox(key=f"w_view_run_documents_{first}")
    [label] = [o for o in picker.options if member in o]
    assert label.startswith("reviews.csv · glove · bag")  # its experiment's data set
    at.selectbox(key="w_run_data_documents").set_value("reviews.csv").run()
    [only] = at.selectbox(key=f"w_view_run_documents_{first}").options
    assert member in only


def test_word_pickers_search_the_whole_vocabulary_exact_word_first(app, ready_store):
    """Typing "paris" once selected "comparison": the pickers now hold every vocabulary word
    alphabetically with a prefix filter, so the word typed is the first match."""
    from core.store.runstore import RunStore

    root, run_id = ready_store
    vocab = RunStore(root).load_vocab(run_id)["token"].astype(str).tolist()
    open_page(app, "compare")
    picker = app.selectbox(key="w_cmp_word")
    assert picker.options == sorted(set(vocab) - {"<pad>", "<unk>"})
    from streamlit.proto.SelectWidgetFilterMode_pb2 import SelectWidgetFilterMode

    prefix = SelectWidgetFilterMode.Value("FILTER_MODE_PREFIX")
    assert picker.proto.filter_mode == prefix
    open_page(app, "evolution")
    highlight = app.multiselect(key="w_evo_words")
    assert highlight.options == sorted(highlight.options)
    assert highlight.proto.filter_mode == prefix


def test_evolution_highlight_takes_any_word_of_the_picture_typed(app, ready_store, monkeypatch):
    """The highlight picker suggests only the most frequent words (a 5,000-option picker made
    every highlight slow); a rarer word of the picture can be typed, an unknown one is named."""
    from core.store.runstore import RunStore
    from dashboard import widgets

    monkeypatch.setattr(widgets, "SUGGESTED_WORDS", 10)  # the tiny run has 34 words
    root, run_id = ready_store
    vocab = RunStore(root).load_vocab(run_id)
    real = vocab[~vocab["token"].isin(["<pad>", "<unk>"])]
    rare = real.sort_values("train_count", kind="stable")["token"].iloc[0]
    open_page(app, "evolution")
    picker = app.multiselect(key="w_evo_words")
    assert len(real) > 10 and len(picker.options) == 10
    assert rare not in picker.options
    picker.set_value([rare, "zzzqqq"]).run()
    assert not app.exception
    overlay = evolution(app)["overlay"]
    assert [name for name, _ in overlay["legend"]] == [f"trail: {rare}"]
    assert any("Not in the picture" in c.value and "zzzqqq" in c.value for c in app.caption)
