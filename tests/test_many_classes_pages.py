"""A ten-class run through the pages (AppTest): the Evolution map's default colouring is each
word's class with one legend entry per class, and a class has the same colour on Evolution,
Documents, the Train page's live map and Learned vs pretrained."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import open_app
from tests.test_dashboard_run_views import arr, evolution, figures, open_page

N_CLASSES = 10


TOPICS = ["football goal match team coach league", "bread cheese soup salad butter pasta",
          "rain snow wind storm cloud sunny", "guitar piano song band concert singer",
          "bank money loan price market dollar", "doctor hospital patient disease nurse health",
          "flight hotel beach airport tourist island", "teacher student exam class school lesson",
          "computer software internet keyboard screen laptop",
          "dog cat horse bird rabbit tiger"]
SHARED = "the a of and to in is it was for on with as at by this that from".split()


def many_classes(n_classes: int, per_class: int = 24, seed: int = 0):
    """Texts where each class has its own six words among shared function words."""
    from core.data.dataset import Dataset

    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for c in range(n_classes):
        own = TOPICS[c].split()
        for _ in range(per_class):
            words = list(rng.choice(own, 3)) + list(rng.choice(SHARED, 4))
            texts.append(" ".join(rng.permutation(words)))
            labels.append(f"topic {c:02d}")
    return Dataset.from_lists(texts, labels)


@pytest.fixture(scope="module")
def ten_class_store(tmp_path_factory):
    from core.jobs.engine import Engine
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    root = tmp_path_factory.mktemp("many") / "runs"
    store = RunStore(root)
    config = TrainConfig(epochs=3, batch_size=16, doc_sample=60, early_stopping=False, lr=0.05)
    run_id = train_run(many_classes(N_CLASSES), config, store).run_id
    Engine(store, warm=False, method="pca").tick()
    return root, run_id


@pytest.fixture
def app(ten_class_store, monkeypatch):
    root, run_id = ten_class_store
    return open_app(root, monkeypatch, run_id)


def _evolution_classes(at) -> dict[str, str]:
    body = evolution(at)
    assert body["colour"] == 0  # the default: the first colouring, by class
    legend = body["colours"][0]["legend"]
    return dict(legend)


def test_default_evolution_colouring_is_per_class_with_a_legend_entry_each(app):
    open_page(app, "evolution")
    legend = _evolution_classes(app)
    assert sorted(legend) == [f"topic {c:02d}" for c in range(N_CLASSES)]
    assert len(set(legend.values())) == N_CLASSES  # ten different colours
    options = next(b for b in app.selectbox if b.label == "Colour by").options
    assert options[0].startswith("class")
    assert sum("vs the other classes" in o for o in options) == N_CLASSES  # one direction each
    # a class's own words take its colour: their values fall in that class's band
    layer = evolution(app)["colours"][0]
    values = arr(layer["values"][0])
    assert np.isfinite(values).sum() >= N_CLASSES * 3
    assert "no single classifier direction" in " ".join(c.value for c in app.caption)


def test_a_class_has_the_same_colour_on_documents_evolution_train_and_compare(app):
    open_page(app, "evolution")
    evo = _evolution_classes(app)
    open_page(app, "documents")
    docs = {t["name"]: t["marker"]["color"] for s in figures(app).values()
            if s["layout"]["title"]["text"].startswith("Learned") for t in s["data"]}
    assert docs == evo
    open_page(app, "compare")
    learned = next(s for t, s in figures(app).items() if t.startswith("Learned"))
    for trace in learned["data"]:
        if trace.get("name") in evo:
            colours = trace["marker"]["color"]
            if isinstance(colours, str):  # the legend's swatch: the class's full colour
                assert colours.lower() == evo[trace["name"]].lower()
                continue
            assert colours  # per-word shades of the class colour; the strongest is the class's
            assert evo[trace["name"]].lower() in [c.lower() for c in colours] or all(
                _same_hue(c, evo[trace["name"]]) for c in colours)


def _same_hue(shade: str, solid: str) -> bool:
    """``shade`` is ``solid`` mixed with white (every channel between solid's and 255)."""
    s = [int(shade[i:i + 2], 16) for i in (1, 3, 5)]
    c = [int(solid[i:i + 2], 16) for i in (1, 3, 5)]
    return all(ci <= si <= 255 for si, ci in zip(s, c))
