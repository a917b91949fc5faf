"""The translation app's Python API: `train`, `evaluate`, `load`, `export`.

Every function imports the backend only when called.
"""

from attention_suite.apps.common.serving.pipeline import TextPipeline
from attention_suite.apps.common.training.distribute import (
    TOKEN_EMBEDDING_SHARDING,
)
from attention_suite.apps.translation.config import TranslationConfig
from attention_suite.apps.translation.signature import SIGNATURES

COMMAND = "translate"
FOLDER = "translation"


def train(
    config=None, data=None, out="runs/translation", data_dir=None, **options
):
    """Trains a translator into a run directory.

    Args:
        config: a `TranslationConfig`, a dict of its settings, or `None`
            (the defaults).
        data: `"multi30k"` (`config.dataset`, the default) or a TSV file of
            `source<TAB>target` lines.
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
    >>> from attention_suite.apps import translation
    >>> from attention_suite.apps.translation.synthetic import write_demo_tsv
    >>> tmp = tempfile.mkdtemp()
    >>> run = translation.train(
    ...     {"epochs": 1, "warmup_steps": 2, "embedding_dim": 16,
    ...      "num_layers": 1, "num_heads": 2, "intermediate_dim": 32,
    ...      "vocabulary_size": 60, "max_length": 16},
    ...     data=write_demo_tsv(f"{tmp}/pairs.tsv"), out=f"{tmp}/run",
    ...     verbose=0)
    >>> run.info["epochs_run"]
    1
    >>> translation.evaluate(run, split="val")["split"]
    'val'
    >>> model = translation.load(run.path)
    >>> isinstance(model.translate("A dog runs."), str)
    True
    """
    from attention_suite.apps.common.training.launch import train_run
    from attention_suite.apps.translation import training

    return train_run(
        training.train,
        COMMAND,
        TranslationConfig,
        config,
        data,
        out,
        data_dir,
        sharding=TOKEN_EMBEDDING_SHARDING,
        **options,
    )


def evaluate(run, split="test", beam_size=None, data_dir=None):
    """Scores a run with sacreBLEU and chrF, beside the identity baseline.

    Writes the report into the run (`metrics.json`, `metrics.md`).

    Args:
        run: a `Run` or a run directory.
        split: `"test"` or `"val"` (choose settings on `"val"`).
        beam_size: the beam width (default: the run's).
        data_dir: where the named datasets live.

    Returns:
        The report: a dict with `bleu`, `chrf`, the baseline's scores and
        the settings they were measured with.
    """
    from attention_suite.apps.common.training.runs import run_path
    from attention_suite.apps.translation import evaluation

    return evaluation.evaluate(run_path(run), split, beam_size, data_dir)


class TranslationPipeline(TextPipeline):
    """A trained translator: `translate` raw sentences.

    Returned by `load`; backed by a run directory (the Keras model, any
    backend) or an exported SavedModel.
    """

    folder = FOLDER
    signatures = SIGNATURES

    @staticmethod
    def parts():
        from attention_suite.apps.translation import serving, training

        return training.load_run, serving.export_and_verify

    def translate(self, texts, beam_size=None, return_attention=False):
        """Translates sentences.

        Args:
            texts: a sentence, or a list of them (str or bytes).
            beam_size: the beam width, 1 for greedy (default: the run's; a
                SavedModel's search is fixed).
            return_attention: also return each translation's alignment.

        Returns:
            The translation (a string) of each sentence, in order; with
            `return_attention`, a dict per sentence with `translation`,
            `source_pieces`, `target_pieces` and `attention`, a NumPy
            `(len(target_pieces), len(source_pieces))` array. One sentence
            in, one answer out.
        """
        return self.generate(texts, beam_size, return_attention)

    def generator(self):
        from attention_suite.apps.translation.infer import Translator

        return Translator(self.run.model, self.run.tokenizer, self.run.config)


load = TranslationPipeline.load
export = TranslationPipeline.export
