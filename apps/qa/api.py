"""The question-answering app's Python API: `train`, `evaluate`, `export`,
`load`.

Every function imports the backend only when called.
"""

import functools

from attention_suite.apps.common.serving.pipeline import (
    Pipeline,
    as_list,
    text_of,
)
from attention_suite.apps.qa import signature
from attention_suite.apps.qa.config import QAConfig

COMMAND = "qa"
FOLDER = "qa"


def train(config=None, data=None, out="runs/qa", data_dir=None, **options):
    """Trains a span reader into a run directory.

    Args:
        config: a `QAConfig`, a dict of its settings, or `None` (the
            defaults).
        data: `"squad"` (`config.dataset`, the default) or a SQuAD-format
            JSON file.
        out: the run directory; one holding a run needs `resume=True` or
            `overwrite=True`.
        data_dir: where the named datasets live (default `$ATTN_DATA_DIR`).
        **options: `resume`, `overwrite`, `verbose`, `distribution`,
            `devices`,
            `precision`
            (`attention_suite.apps.common.training.launch.train_run`).

    Returns:
        The `Run`: `path`, `config` and `info` (the run's `run.json`).

    Example:

    >>> import tempfile
    >>> from attention_suite.apps import qa
    >>> from attention_suite.apps.qa.synthetic import write_demo_squad
    >>> tmp = tempfile.mkdtemp()
    >>> run = qa.train(
    ...     {"epochs": 1, "warmup_steps": 2,
    ...      "vocabulary_size": 200, "embedding_dim": 16,
    ...      "units": 16, "window": 32, "stride": 16,
    ...      "max_question_length": 8, "train_limit": 128},
    ...     data=write_demo_squad(f"{tmp}/qa.json", articles=6),
    ...     out=f"{tmp}/run", verbose=0)
    vocabulary_size=200 -> 98: the pieces the tokenizer made (used and recorded)
    >>> qa.evaluate(run, split="val")["split"]
    'val'
    >>> found = qa.load(run.path).answer(
    ...     "Where does the river flow?", "The river flows to the sea.")
    >>> sorted(found)
    ['answer', 'end', 'score', 'start']
    """
    from attention_suite.apps.common.training.launch import train_run
    from attention_suite.apps.qa import training

    return train_run(
        training.train,
        COMMAND,
        QAConfig,
        config,
        data,
        out,
        data_dir,
        **options,
    )


def evaluate(run, split="test", data_dir=None, limit=0, compare_windows=None):
    """Scores a run with SQuAD's exact match and F1, beside a baseline.

    Writes the report into the run (`metrics.json`, `metrics.md`).

    Args:
        run: a `Run` or a run directory.
        split: `"test"` or `"val"` (choose settings on `"val"`).
        data_dir: where the named datasets live.
        limit: score only the first `limit` questions (0: all).
        compare_windows: how the windows' best spans compete, instead of
            the run's setting.

    Returns:
        The report: a dict with `exact_match`, `f1`, the baseline's scores
        and the settings they were measured with.
    """
    from attention_suite.apps.common.training.runs import run_path
    from attention_suite.apps.qa import evaluation

    return evaluation.evaluate(
        run_path(run),
        split=split,
        data_dir=data_dir,
        limit=limit,
        compare_windows=compare_windows,
    )


class QAPipeline(Pipeline):
    """A trained span reader: `answer` questions about contexts.

    Returned by `load`; backed by a run directory (the Keras model, any
    backend) or an exported SavedModel.
    """

    folder = FOLDER
    serving_imports = signature.IMPORTS

    @staticmethod
    def parts():
        from attention_suite.apps.qa import serving, training

        return training.load_run, serving.export_and_verify

    def answer(self, questions, contexts):
        """Answers questions, each about its context.

        Args:
            questions: a question, or a list of them (str or bytes).
            contexts: the context of each question: one for all of them,
                or a list aligned with `questions`.

        Returns:
            For each question, a dict with `answer` (the span's text),
            `start` and `end` (its character offsets in the context) and
            `score`. One question in, one answer out.

        Raises:
            ValueError: a question or a context is empty, or the lists
                differ in length.
        """
        questions, single = as_list(questions)
        contexts, one_context = as_list(contexts)
        if one_context:
            contexts = contexts * len(questions)
        for what, texts in (("question", questions), ("context", contexts)):
            if not texts or not all(text_of(t).strip() for t in texts):
                raise ValueError(f"Every {what} must be non-empty.")
        if len(contexts) != len(questions):
            raise ValueError(
                f"{len(contexts)} contexts but {len(questions)} questions: "
                "each question needs its context."
            )
        if self.saved_model is None:
            answers = self._reader.answer(contexts, questions)
        else:
            context_name, question_name = signature.INPUTS
            served = self.serve(
                "serving_default",
                **{context_name: contexts, question_name: questions},
            )
            answers = [
                {
                    "answer": text_of(served["answer"][i]),
                    "start": int(served["start"][i]),
                    "end": int(served["end"][i]),
                    "score": float(served["score"][i]),
                }
                for i in range(len(questions))
            ]
        return answers[0] if single else answers

    def attention(self, question, context):
        """BiDAF's context-to-query attention for one question.

        Args:
            question: the question.
            context: its context.

        Returns:
            `(context_pieces, question_pieces, weights)`.

        Raises:
            ValueError: the pipeline is a SavedModel (its graph returns
                answers only).
        """
        if self.saved_model is not None:
            raise ValueError(
                f"{self.path} is a SavedModel, which returns answers only; "
                "load the run directory for the attention."
            )
        return self._reader.attention(text_of(context), question)

    @functools.cached_property
    def _reader(self):
        # Built once: its compiled graphs are reused by every call.
        from attention_suite.apps.qa.infer import Reader

        run = self.run
        return Reader(run.model, run.tokenizer, run.config)


load = QAPipeline.load
export = QAPipeline.export
