"""Word vectors from outside the task: the bundled GloVe, user vector files, word2vec trained on the corpus, and the initial embedding matrix built from them.

May import: ``core.errors``, ``core.common``."""
