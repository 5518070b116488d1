"""An experiment's results on the Experiments page: the learning curves, each start's paired
gain over random (judged by its interval), the results table and the CSV downloads."""
from __future__ import annotations

import streamlit as st

from core.training.gains import all_gains, gain_sentences, paired_gains
from core.training.reporting import experiment_scoring
from dashboard import services
from dashboard.charts import curves


def results(exp) -> None:
    """The charts, table and downloads of experiment ``exp`` (once a run has finished)."""
    summary = exp.summary()
    if summary.empty:
        st.caption("The charts appear when the first run has finished.")
        return
    first = services.show_errors(services.store().get_run, exp.results["run_id"].iloc[0])
    floor = first.info.get("majority_baseline") if first is not None else None
    st.plotly_chart(curves.learning_curve_figure(summary, baseline=floor))
    st.caption("Mean accuracy at each run's best epoch (lowest validation loss; the results "
               f"table keeps the last epoch's beside it), {experiment_scoring(exp.results)}, "
               "over the seeds (with several seeds, bars show the "
               "95 % interval of the mean). A gap on the left, closing to the right, is the "
               "pretrained start helping while examples are few. " + gains_text(exp, "accuracy"))
    st.plotly_chart(curves.unseen_figure(summary))
    st.caption("The same runs on only the validation documents containing a key word (one that "
               "points to a class) never seen in training; *n* is how many such documents. A "
               "random start knows nothing of these words — a GloVe start knows their "
               "neighbours. " + gains_text(exp, "unseen"))
    st.dataframe(exp.results, hide_index=True)
    st.download_button("Download results (CSV)", exp.results.to_csv(index=False),
                       file_name=f"experiment-{exp.experiment_id}.csv", mime="text/csv")
    st.download_button("Download paired gains (CSV)",
                       all_gains(exp.results).to_csv(index=False),
                       file_name=f"experiment-{exp.experiment_id}-gains.csv", mime="text/csv")


def gains_text(exp, metric: str) -> str:
    """Each init's paired gain over random per size, judged by its interval (core's rule)."""
    said = gain_sentences(paired_gains(exp.results, metric), curves.init_label)
    return "Paired by seed: " + " ".join(said) if said else ""
