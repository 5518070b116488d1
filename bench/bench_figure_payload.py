"""Size of the Evolution figure sent to the browser: the former hover (six neighbours per
word and frame) against the trimmed one (three, and nothing repeated), 2,500 words x 11
snapshots, animated (``bench_figure_payload.py [WORDS [FRAMES]]``); then what opening the
page and each colour or highlight change send, before and since the map keeps its figure in
the browser. Words and neighbours are real GloVe words; coordinates random (their
size does not depend on the values). Prints a markdown table (bytes of plotly JSON)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(n_words: int = 2500, n_frames: int = 11) -> None:
    import plotly.io

    from core.vectors.pretrained import glove
    from dashboard.charts import evolution

    words = glove().index_to_key[100:100 + n_words]
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(n_frames, n_words, 2)).astype(np.float32)
    near = [[list(rng.choice(words, 10)) for _ in words] for _ in range(n_frames)]
    counts = rng.integers(1, 5000, n_words)
    labels = ["start"] + [f"epoch {e}" for e in range(1, n_frames)]
    colour = evolution.Colour("class direction", rng.normal(size=(n_frames, n_words)))
    former = [[f"<b>{w}</b> · trained on {c:,}×<br>nearest: {', '.join(nb[:6])}"
               for w, c, nb in zip(words, counts, near[t])] for t in range(n_frames)]
    static = [f"<b>{w}</b> · trained on {c:,}×" for w, c in zip(words, counts)]
    trimmed = [[f"nearest now: {', '.join(nb[:3])}" for nb in near[t]] for t in range(n_frames)]
    print("| hover | figure JSON (MB) |\n|---|---|")
    for name, hover, once in (
            ("former: word, count and six neighbours in every frame", former, None),
            ("trimmed: word and count once, three neighbours per frame", trimmed, static)):
        fig = evolution.evolution_figure(coords, words, labels, hover, colour, animate=True,
                                      static_hover=once)
        print(f"| {name} | {len(plotly.io.to_json(fig, validate=False)) / 1e6:.2f} |")
    interactions(coords, words, labels, trimmed, static, counts, rng)


def interactions(coords, words, labels, hover, static, counts, rng) -> None:
    """What a colour or highlight change sends: before, the whole figure again (st.plotly_chart);
    now the browser keeps the figure and every colouring (sent once per layout) and is sent
    the colouring's position and the highlight overlay (dashboard/components/evolution_chart)."""
    import json

    import plotly.io
    import plotly.utils

    from dashboard.charts import evolution
    from dashboard.components import evolution_chart

    n_frames, n_words = coords.shape[:2]
    seen = rng.random(n_words) > 0.1
    colours = {"direction": evolution.Colour("d", rng.normal(size=(n_frames, n_words))),
               "frequency": evolution.Colour("f", np.tile(np.log10(1 + counts), (n_frames, 1)),
                                          mid=None),
               "seen": evolution.Colour("", groups={"seen": (np.flatnonzero(seen), "#000"),
                                                 "never": (np.flatnonzero(~seen), "#111")})}
    layers = [evolution.colour_layer(c, n_words) for c in colours.values()]
    focus = list(range(0, 800, 100))  # 8 highlighted words, the most the view allows
    full = evolution.evolution_figure(coords, words, labels, hover, layers[0], focus,
                                   static_hover=static)
    base = evolution.evolution_figure(coords, words, labels, hover, layers[0], [],
                                   static_hover=static)
    _, body = evolution_chart.payload(base, layers, n_frames - 1)
    overlay = json.dumps(evolution.evolution_overlay(coords, words, labels, focus),
                         cls=plotly.utils.PlotlyJSONEncoder)
    print("\n| sent to the browser | before (MB) | now (MB) |\n|---|---|---|")
    print(f"| opening the page | {len(plotly.io.to_json(full, validate=False)) / 1e6:.2f} | "
          f"{len(body) / 1e6:.2f} (figure + {len(layers)} colourings) |")
    print(f"| each highlight or colour change (8 words highlighted) | "
          f"{len(plotly.io.to_json(full, validate=False)) / 1e6:.2f} | "
          f"{len(overlay) / 1e6:.3f} |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
