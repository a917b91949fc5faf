"""Exporting a summarization run as a strings-in, strings-out SavedModel.

Signatures (every input is a `tf.string` vector of raw documents, `text`):

* `serving_default`: `summary`, `tf.string [batch]`;
* `summarize_with_attention`: also `source_pieces` `[batch, S]` and
  `summary_pieces` `[batch, T]` (the subword pieces, `"</s>"` for the end
  token, `""` for padding), `attention` `float32 [batch, T, S]` (each
  summary piece's attention over the document) and `copy_probability`
  `float32 [batch, T]` (`1 - p_gen`: how much of the piece's probability
  came through the pointer), for highlighting copied words.

Tokenization (TF-text's SentencePiece ops), the model and the search (the
run's beam size, length penalty and n-gram blocking) are all in the graph;
a client needs TensorFlow and `tensorflow_text` (for the SentencePiece ops,
which stock TF Serving links in).
"""

from attention_suite.apps.common.serving.verify import export_generator
from attention_suite.apps.summarization import infer
from attention_suite.apps.summarization.signature import SIGNATURES
from attention_suite.apps.summarization.training import load_run

# Inputs a server must survive; each gets a summary (maybe empty).
HARD_INPUTS = (
    "",
    "  \n\t \r\n ",
    "Please review the attached budget. " * 1500,  # 52,500 characters
    b"\x00\x9f\xff binary \xfe\x80 junk \x1b[0m",
    "Thanks! \U0001f44d See you at the \U0001f3c8 game \u2014 Jos\u00e9",
    "> -----Original Message-----\n> From: Smith, John\n> Sent: Monday\n"
    "> Can you send me the numbers?\n>\n> Thanks",
    "--\nJohn Smith\nEnron North America Corp.\n1400 Smith Street\n"
    "(713) 555-0100",
)


def export_and_verify(run_dir, path, overwrite=False):
    """Exports a run and checks the SavedModel against `predict`.

    Summarizes the run's sample test documents and `HARD_INPUTS` with the
    Keras model (what `attn summarize predict` does), exports, then runs the
    same inputs through the SavedModel in a fresh process that imports only
    TensorFlow and `tensorflow_text`. Must run under the TensorFlow backend.

    Args:
        run_dir: a trained run.
        path: the version directory (`saved_models/summarization/<N>`).
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: the SavedModel answers otherwise than the Keras
            model; the version is then not written.
    """
    run = load_run(run_dir)
    summarizer = infer.Summarizer(run.model, run.tokenizer, run.config)
    return export_generator(
        path,
        summarizer,
        SIGNATURES,
        [*run.info.get("samples", []), *HARD_INPUTS],
        "summarization",
        overwrite,
    )
