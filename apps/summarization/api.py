"""The summarization app's Python API: `train`, `evaluate`, `export`,
`load`.

Every function imports the backend only when called.
"""

from attention_suite.apps.common.serving.pipeline import TextPipeline
from attention_suite.apps.common.training.distribute import (
    TOKEN_EMBEDDING_SHARDING,
)
from attention_suite.apps.summarization.config import SummarizationConfig
from attention_suite.apps.summarization.signature import SIGNATURES

COMMAND = "summarize"
FOLDER = "summarization"


def train(
    config=None, data=None, out="runs/summarization", data_dir=None, **options
):
    """Trains a summarizer into a run directory.

    Args:
        config: a `SummarizationConfig`, a dict of its settings, or `None`
            (the defaults).
        data: `"aeslc"` (`config.dataset`, the default), `"bbc"`, or a JSONL
            or CSV file with text and summary fields.
        out: the run directory; one holding a run needs `resume=True` or
            `overwrite=True`.
        data_dir: where the named datasets live (default `$ATTN_DATA_DIR`).
        **options: `resume`, `overwrite`, `verbose`, `distribution`,
            `devices`,
            `precision`, `model_devices`
            (`attention_suite.apps.common.training.launch.train_run`).

    Returns:
        The `Run`: `path`, `config` and `info` (the run's `run.json`).

    Example:

    >>> import tempfile
    >>> from attention_suite.apps import summarization
    >>> from attention_suite.apps.summarization.synthetic import (
    ...     write_demo_jsonl)
    >>> tmp = tempfile.mkdtemp()
    >>> run = summarization.train(
    ...     {"epochs": 1, "warmup_steps": 2,
    ...      "vocabulary_size": 100, "embedding_dim": 16,
    ...      "units": 16, "attention_units": 16, "max_source_length": 32,
    ...      "max_summary_length": 8},
    ...     data=write_demo_jsonl(f"{tmp}/docs.jsonl", count=200),
    ...     out=f"{tmp}/run", verbose=0)
    >>> summarization.evaluate(run, split="val")["split"]
    'val'
    >>> model = summarization.load(run.path)
    >>> isinstance(model.summarize("The council met on Monday."), str)
    True
    """
    from attention_suite.apps.common.training.launch import train_run
    from attention_suite.apps.summarization import training

    return train_run(
        training.train,
        COMMAND,
        SummarizationConfig,
        config,
        data,
        out,
        data_dir,
        sharding=TOKEN_EMBEDDING_SHARDING,
        **options,
    )


def evaluate(run, split="test", beam_size=None, data_dir=None):
    """Scores a run with ROUGE-1/2/L, beside the Lead baselines.

    Writes the report into the run (`metrics.json`, `metrics.md`).

    Args:
        run: a `Run` or a run directory.
        split: `"test"` or `"val"` (choose settings on `"val"`).
        beam_size: the beam width (default: the run's).
        data_dir: where the named datasets live.

    Returns:
        The report: a dict with `rouge1`, `rouge2`, `rougeL`, the
        baselines' scores and the settings they were measured with.
    """
    from attention_suite.apps.common.training.runs import run_path
    from attention_suite.apps.summarization import evaluation

    return evaluation.evaluate(run_path(run), split, beam_size, data_dir)


class SummarizationPipeline(TextPipeline):
    """A trained summarizer: `summarize` raw documents.

    Returned by `load`; backed by a run directory (the Keras model, any
    backend) or an exported SavedModel.
    """

    folder = FOLDER
    signatures = SIGNATURES

    @staticmethod
    def parts():
        from attention_suite.apps.summarization import serving, training

        return training.load_run, serving.export_and_verify

    def summarize(self, texts, beam_size=None, return_attention=False):
        """Summarizes documents.

        Args:
            texts: a document, or a list of them (str or bytes).
            beam_size: the beam width, 1 for greedy (default: the run's; a
                SavedModel's search is fixed).
            return_attention: also return each summary's attention and
                copy probabilities.

        Returns:
            The summary (a string) of each document, in order; with
            `return_attention`, a dict per document with `summary`,
            `source_pieces`, `summary_pieces`, `attention` (NumPy
            `(len(summary_pieces), len(source_pieces))`) and
            `copy_probability` (NumPy `(len(summary_pieces),)`). One
            document in, one answer out.
        """
        return self.generate(texts, beam_size, return_attention)

    def generator(self):
        from attention_suite.apps.summarization.infer import Summarizer

        return Summarizer(self.run.model, self.run.tokenizer, self.run.config)


load = SummarizationPipeline.load
export = SummarizationPipeline.export
