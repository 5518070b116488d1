"""Figure builders: arrays and frames in, plotly figures out. No streamlit here (tested like
core); no maths either: coordinates, neighbours and scores come from core (core.runs.views,
core.runs.comparison, ...), these modules only select and draw them. User-derived strings
are escaped (``dashboard.text.escape_html``) before they reach a figure.

- ``style``: colours and layouts every figure shares, the HTML download.
- ``points``: axis ranges and label placement of point maps.
- ``evolution``: the Evolution map (colourings, highlighted words, animation).
- ``maps``: one projection of words or documents.
- ``bars``: histograms and bar charts (class balance, drift).
- ``curves``: lines over epochs, snapshots and training sizes (loss, accuracy, measures,
  learning curves, semantics).
- ``lookup``: the Lookup table view's heatmap and tables.
- ``similarity``: a word2vec run's WordSim353/SimLex999 per epoch with intervals.

May import ``core`` and ``dashboard.text``; never streamlit or another dashboard module."""
