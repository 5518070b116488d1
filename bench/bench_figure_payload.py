"""Size of the Evolution figure sent to the browser: the former hover (six neighbours per
word and frame) against the trimmed one (three, and nothing repeated), 2,500 words x 11
snapshots, animated. Words and neighbours are real GloVe words; coordinates random (their
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
    from dashboard import charts

    words = glove().index_to_key[100:100 + n_words]
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(n_frames, n_words, 2)).astype(np.float32)
    near = [[list(rng.choice(words, 10)) for _ in words] for _ in range(n_frames)]
    counts = rng.integers(1, 5000, n_words)
    labels = ["start"] + [f"epoch {e}" for e in range(1, n_frames)]
    colour = charts.Colour("class direction", rng.normal(size=(n_frames, n_words)))
    former = [[f"<b>{w}</b> · trained on {c:,}×<br>nearest: {', '.join(nb[:6])}"
               for w, c, nb in zip(words, counts, near[t])] for t in range(n_frames)]
    static = [f"<b>{w}</b> · trained on {c:,}×" for w, c in zip(words, counts)]
    trimmed = [[f"nearest now: {', '.join(nb[:3])}" for nb in near[t]] for t in range(n_frames)]
    print("| hover | figure JSON (MB) |\n|---|---|")
    for name, hover, once in (
            ("former: word, count and six neighbours in every frame", former, None),
            ("trimmed: word and count once, three neighbours per frame", trimmed, static)):
        fig = charts.evolution_figure(coords, words, labels, hover, colour, animate=True,
                                      static_hover=once)
        print(f"| {name} | {len(plotly.io.to_json(fig, validate=False)) / 1e6:.2f} |")


if __name__ == "__main__":
    main()
