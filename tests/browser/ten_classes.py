"""A generated ten-class data set of short English descriptions (real words, one topic per
class, shared function words, a few words shared by two topics), written as a CSV."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

TOPICS = {
    "sport": "football goal match team coach league player games game score stadium referee",
    "food": "bread cheese soup salad butter pasta recipe kitchen oven sugar flour dinner",
    "weather": "rain snow wind storm cloud sunny forecast cold warm thunder frost humid",
    "music": "guitar piano song band concert singer album drums melody chorus stage lyrics",
    "finance": "bank money loan price market dollar stock profit invest budget tax credit",
    "health": "doctor hospital patient disease nurse health medicine clinic fever therapy pain",
    "travel": "flight hotel beach airport tourist island passport luggage cruise resort trip",
    "school": "teacher student exam class school lesson homework grade pupil campus library",
    "computing": "computer software internet keyboard screen laptop database code server web",
    "animals": "dog cat horse bird rabbit tiger puppy zoo wildlife feather tail farm",
}
SHARED = "the a of and to in is it was for on with as at by this that from new good".split()
BRIDGES = {"sport": "stage", "music": "games", "travel": "market", "finance": "travel"}
SIZES = (40, 45, 50, 60, 70, 80, 90, 100, 120, 150)  # unbalanced, as real data is


def ten_class_rows(seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for (label, words), n in zip(TOPICS.items(), SIZES):
        own = words.split()
        for _ in range(n):
            picked = list(rng.choice(own, 3, replace=False)) + list(rng.choice(SHARED, 4))
            if label in BRIDGES and rng.random() < 0.3:
                picked.append(BRIDGES[label])
            rows.append((" ".join(rng.permutation(picked)), label))
    order = rng.permutation(len(rows))
    return [rows[i] for i in order]


def write_csv(path: Path, seed: int = 0) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        out.writerows(ten_class_rows(seed))
    return path
