"""Every session-state key the dashboard uses, with its default, in one place.

A user's things live here (or in the run store); nothing user-specific goes into a
``st.cache_resource``. Widget keys are listed too, so no view invents its own.
"""
from __future__ import annotations

import copy
from typing import Any

import streamlit as st

# -- data set choice (Data view; read by every other view) --------------------------------
DATASET = "data_set"              # id of the chosen stored data set (mirrored in ?data=)
DATA_RESTORED = "data_restored"   # True once this session adopted ?data= or the last choice
CONFIRM_DATASET_DELETE = "data_confirm_delete"  # data set id waiting for "Yes, delete"
UPLOAD = "data_upload"            # None = bundled sample, else {"name", "bytes", "sha"}
UPLOAD_FILE_ID = "data_upload_file_id"  # file_id of the upload already taken over
TEXT_COLUMN = "data_text_column"  # None = use the detected column
LABEL_COLUMN = "data_label_column"

# -- training (Train view) -----------------------------------------------------------------
VECTORS = "train_vectors"         # None, or {"name", "path", "sha", "words", "dim"} once checked
VECTORS_FILE_ID = "train_vectors_file_id"

# -- runs ------------------------------------------------------------------------------------
ACTIVE_RUN = "active_run"         # run id the Train/Evolution/... views show, mirrored in ?run=
CONFIRM_DELETE = "runs_confirm_delete"  # run id waiting for "Yes, delete"
FLASH = "flash"                   # one-shot message shown after a rerun: (kind, text)
IMPORT_JOB = "runs_import_job"    # id of the import job the Runs page follows (None: none)

# -- experiments (Experiments view) ----------------------------------------------------------
EXPERIMENT = "experiment_open"    # id of the experiment the view shows (None = the newest)

DEFAULTS: dict[str, Any] = {
    DATASET: None,
    DATA_RESTORED: False,
    CONFIRM_DATASET_DELETE: None,
    UPLOAD: None,
    UPLOAD_FILE_ID: None,
    TEXT_COLUMN: None,
    LABEL_COLUMN: None,
    VECTORS: None,
    VECTORS_FILE_ID: None,
    ACTIVE_RUN: None,
    CONFIRM_DELETE: None,
    FLASH: None,
    IMPORT_JOB: None,
    EXPERIMENT: None,
}

# -- widget keys (their values are owned by Streamlit) ----------------------------------------
W_UPLOAD = "w_data_upload"
W_DATA_PICK = "w_data_pick"       # stored data set picker of the Data view
W_DATA_NAME = "w_data_name"       # its rename box, suffixed with the data set id
W_RUN_DATA = "w_run_data"         # "data set" filter of a run list, suffixed by page
W_RUN_EXPS = "w_run_exps"         # "show experiment runs" toggle, suffixed by page
W_RUN_NAME = "w_run_name"         # run rename box (Runs view), suffixed with the run id
W_TEXT_COLUMN = "w_text_column"   # suffixed with the data's hash: new file, fresh widget
W_LABEL_COLUMN = "w_label_column"
W_INIT = "w_train_init"
W_W2V = "w_train_w2v"
W_OBJECTIVE = "w_train_objective"  # classify | skipgram | cbow (TrainConfig.objective)
W_INIT_RUN = "w_train_init_run"   # Train: the finished run whose table starts the new one
W_SPACES_TASK = "w_spaces_task"    # Three spaces: the task-trained run
W_SPACES_W2V = "w_spaces_w2v"      # Three spaces: the word2vec run
W_SPACES_WORD = "w_spaces_word"    # Three spaces: the word whose neighbours are listed
W_SPACES_SENTENCES = "w_spaces_sentences"  # typed texts, suffixed by the task run
W_VECTORS_UPLOAD = "w_train_vectors_upload"
W_RUN_PICK = "w_runs_pick"
W_COMPARE = "w_runs_compare"
W_VIEW_RUN = "w_view_run"        # run picker of Evolution/Compare/Documents, suffixed by page
W_EVO_COLOR = "w_evo_color"
W_EVO_WORDS = "w_evo_words"
W_EVO_EPOCH = "w_evo_epoch"       # only when too many words to animate
W_EVO_SCOPE = "w_evo_scope"       # the engine's UMAP layout or all words with PCA
W_EVO_ADD = "w_evo_add"           # words the user adds to the picture
W_EVO_MAP = "w_evo_map"           # the figure id the browser holds (evolution_chart)
W_CMP_WORD = "w_cmp_word"
W_CMP_EPOCH = "w_cmp_epoch"
W_CMP_SPACE = "w_cmp_space"
W_DOC_EPOCH = "w_doc_epoch"
W_EXP_SIZES = "w_exp_sizes"
W_EXP_INITS = "w_exp_inits"
W_EXP_VECTORS_UPLOAD = "w_exp_vectors_upload"  # a vector file offered as a start
W_EXP_SEEDS = "w_exp_seeds"
W_EXP_EPOCHS = "w_exp_epochs"
W_EXP_PICK = "w_exp_pick"
W_SEM_PAIRS = "w_sem_pairs"
W_LOOK_SNAPSHOT = "w_look_snapshot"  # Lookup table view: snapshot index, suffixed by run id
W_LOOK_PICK = "w_look_pick"       # index of the picked example text, suffixed by run id
W_LOOK_TEXT = "w_look_text"       # the text the user typed (empty: the picked one)
W_IMPORT_FILES = "w_import_files"  # Import form (dashboard/importing.py): weight files
W_IMPORT_VOCAB = "w_import_vocab"  # its vocabulary file
W_IMPORT_TENSOR = "w_import_tensor"
W_IMPORT_NAME = "w_import_name"


def init() -> None:
    """Put every missing key at its default (called once per script run by app.py)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = copy.deepcopy(value)


def get(key: str) -> Any:
    return st.session_state.get(key, DEFAULTS.get(key))


def put(key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(f"{key!r} is not a session-state key declared in dashboard/state.py")
    st.session_state[key] = value


def flash(kind: str, text: str) -> None:
    """Remember a message to show on the next run (e.g. after st.rerun)."""
    put(FLASH, (kind, text))


def show_flash() -> None:
    message = get(FLASH)
    if message:
        put(FLASH, None)
        getattr(st, message[0])(message[1])
