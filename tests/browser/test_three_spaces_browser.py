"""Three spaces and typed sentences in real Chromium, on real runs of the bundled sample: a
classifier run and a word2vec skip-gram run of the same texts (screenshots in
test-artifacts/screenshots/three-spaces-*.png). Also: a word2vec run's Train panel and the
Documents page saying why a word2vec run has no documents."""
from __future__ import annotations

import pytest

from .conftest import REPO, fresh_page, no_errors, screenshot, wait_idle
from .test_run_views import served, train

pytestmark = pytest.mark.browser
SAMPLE = REPO / "sample_data" / "sample.csv"


@pytest.fixture(scope="module")
def spaces_store(tmp_path_factory):
    from core.store.runstore import RunStore

    store = RunStore(tmp_path_factory.mktemp("spaces-browser") / "runs")
    task = train(store, SAMPLE, init="glove", epochs=3)
    w2v = train(store, SAMPLE, objective="skipgram", epochs=3, lr=0.025)
    return store, task, w2v


@pytest.fixture(scope="module")
def spaces_url(spaces_store):
    yield from served(spaces_store[0].root, "streamlit-spaces.log")


@pytest.fixture
def spage(browser, spaces_url):
    yield from fresh_page(browser)


def test_three_spaces_and_typed_sentences_render(spage, spaces_url, spaces_store):
    page, (_, task, w2v) = spage, spaces_store
    page.goto(f"{spaces_url}/spaces?run={task}")
    wait_idle(page)
    no_errors(page)
    main = page.get_by_test_id("stMain")
    for heading in ("Agreement per pair", "A word's neighbours in each space",
                    "Where the two learned tables disagree most", "Your sentences in each space"):
        assert main.get_by_text(heading).count() == 1, heading
    # pairs, scores, neighbours, the words that differ most, the sentences' cosines
    page.get_by_test_id("stDataFrame").nth(4).wait_for()
    assert page.get_by_test_id("stDataFrame").count() == 5
    screenshot(page, "three-spaces-1-default")
    box = page.get_by_test_id("stTextArea").locator("textarea")
    box.fill("the hotel was lovely\nthe hotel was wonderful\nour trek was a disaster")
    box.press("Control+Enter")
    wait_idle(page)
    no_errors(page)
    assert main.get_by_text("1. the hotel was lovely").count() == 1
    assert main.get_by_text("3. our trek was a disaster").count() == 1
    screenshot(page, "three-spaces-2-typed")


def test_word2vec_run_panel_and_documents_note(spage, spaces_url, spaces_store):
    page, (_, _, w2v) = spage, spaces_store
    page.goto(f"{spaces_url}/train?run={w2v}")
    wait_idle(page)
    no_errors(page)
    main = page.get_by_test_id("stMain")
    main.get_by_text("Training tokens").wait_for()  # the live panel is a fragment: drawn after
    screenshot(page, "three-spaces-3-word2vec-run")
    assert main.get_by_text("under the", exact=False).count() >= 1  # too little text
    page.goto(f"{spaces_url}/documents?run={w2v}")
    wait_idle(page)
    main.get_by_text("trained by word2vec", exact=False).wait_for()
    assert main.get_by_text("trained by word2vec", exact=False).count() == 1


def test_train_page_objective_and_start_from_a_run(spage, spaces_url, spaces_store):
    page = spage
    page.goto(f"{spaces_url}/train")
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    main.get_by_text("word2vec CBOW").click()
    wait_idle(page)
    assert page.get_by_label("Learning rate").input_value() == "0.0500"
    main.get_by_text("the classifier (task)").click()
    wait_idle(page)
    main.get_by_text("A finished run (e.g. your word2vec run)").click()
    wait_idle(page)
    no_errors(page)
    main.get_by_text("Start from the table of run").wait_for()
    assert main.get_by_text("No finished run of these texts yet").count() == 0
    screenshot(page, "three-spaces-4-train-from-run")
