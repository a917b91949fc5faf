"""What every app's `load` returns: a model that answers raw inputs.

A `Pipeline` is backed by either of what an app writes: a run directory
(the Keras model, on any backend) or an exported SavedModel (the graph TF
Serving runs, called through TensorFlow). Each app subclasses it with its
task's verb (`translate`, `summarize`, `answer`, `forecast`).

TensorFlow is imported only to load a SavedModel: a run's pipeline runs on any
backend.
"""

import functools
import os

from attention_suite.apps.common.serving.export import (
    export_run,
    resolve_version,
)


class Pipeline:
    """A trained app model, from a run directory or an exported SavedModel.

    Use the app's `load(path)` (this class' `load`) rather than the
    constructor. Each app names its `folder` and its `parts` (run reader
    and exporter), and adds its task's verb.

    Args:
        path: the run directory, or the SavedModel's version directory.
        run: the `LoadedRun` read from a run directory, or `None`.
        saved_model: the loaded SavedModel, or `None`.
    """

    # The app's directory under `saved_models/` (its exports' name).
    folder = None
    # Modules whose ops the SavedModel's graph holds.
    serving_imports = ()

    def __init__(self, path, run=None, saved_model=None):
        self.path = path
        self.run = run
        self.saved_model = saved_model

    @staticmethod
    def parts():
        """The app's run reader and exporter, imported when first needed.

        Returns:
            `(read_run, export_and_verify)`: `read_run(run_dir)` returns a
            `LoadedRun`; `export_and_verify(run_dir, path, overwrite)`
            writes a version and returns its path
            (`attention_suite.apps.common.serving.export.export_run`).
        """
        raise NotImplementedError

    @classmethod
    def load(cls, path):
        """Loads one of the app's run directories or exported SavedModels.

        A run answers through its Keras model on the current backend; a
        SavedModel through TensorFlow, as TF Serving would run it.

        Args:
            path: a run directory, a SavedModel version directory, or a
                model base path holding versions (its newest is loaded).

        Returns:
            An instance of the app's pipeline.

        Raises:
            FileNotFoundError: `path` is neither a run nor an export.
            ValueError: `path` is another app's run or export.
        """
        path = os.fspath(path)
        if not os.path.exists(os.path.join(path, "run.json")) and (
            os.path.exists(os.path.join(path, "saved_model.pb"))
            or any(name.isdigit() for name in _entries(path))
        ):
            import importlib

            # TensorFlow loads only here: a run's pipeline runs on any
            # backend.
            import tensorflow as tf

            for module in cls.serving_imports:
                importlib.import_module(module)
            version = resolve_version(path, cls.folder)
            return cls(version, saved_model=tf.saved_model.load(version))
        read_run, _ = cls.parts()
        return cls(path, run=read_run(path))

    @classmethod
    def export(cls, run, base="saved_models", version=None, overwrite=False):
        """Exports a run as a SavedModel for TF Serving.

        Writes `<base>/<app>/<version>/` and checks, in a fresh TensorFlow
        process, that it answers as the run does; `<base>` is a TF Serving
        model base, whose `models.config` then lists the app
        (`attention_suite.apps.common.serving.export.export_run`).

        Args:
            run: a `Run` or a run directory.
            base: the model base directory.
            version: the version to write (default: one above the newest).
            overwrite: whether an existing version is replaced.

        Returns:
            The version directory, an absolute path.

        Raises:
            ServingError: the SavedModel answers otherwise than the run.
        """
        _, export_and_verify = cls.parts()
        return export_run(
            f"{cls.__module__}:{cls.__qualname__}.export",
            export_and_verify,
            run,
            base,
            cls.folder,
            version,
            overwrite,
        )

    @property
    def config(self):
        """The run's config, or `None` for a SavedModel (its settings are
        in the graph)."""
        return None if self.run is None else self.run.config

    def serve(self, signature, **inputs):
        """Calls one of the SavedModel's signatures.

        Args:
            signature: the signature's name.
            **inputs: its inputs, as NumPy arrays or lists.

        Returns:
            A dict mapping output name to a NumPy array.
        """
        import tensorflow as tf

        function = self.saved_model.signatures[signature]
        outputs = function(
            **{name: tf.constant(value) for name, value in inputs.items()}
        )
        return {name: value.numpy() for name, value in outputs.items()}

    def check_search(self, beam_size):
        """Refuses a beam size a SavedModel cannot change.

        Args:
            beam_size: the beam size asked for, or `None` (the run's).

        Raises:
            ValueError: a SavedModel is asked for another beam size.
        """
        if self.saved_model is not None and beam_size is not None:
            raise ValueError(
                f"{self.path} is a SavedModel: its search (beam size "
                "included) is fixed in the graph; load the run directory to "
                "choose the beam size."
            )

    def __repr__(self):
        kind = "run" if self.run is not None else "SavedModel"
        return f"{type(self).__name__}({self.path!r}, from a {kind})"


class TextPipeline(Pipeline):
    """A text generator's pipeline: raw strings in, generated text out.

    The translation and summarization apps subclass it, naming their
    signatures and giving their generator (`generator`); both take the same
    path through the Keras model or the SavedModel.
    """

    serving_imports = ("tensorflow_text",)
    # The SavedModel's signatures and outputs (a `TextSignatures`).
    signatures = None

    def generator(self):
        """The run's `TextGenerator` (with a `details(text, beam_size)`)."""
        raise NotImplementedError

    @functools.cached_property
    def _generator(self):
        # Built once: its compiled search is reused by every call.
        return self.generator()

    def generate(self, texts, beam_size=None, return_attention=False):
        """Generates from texts: what the subclass' verb does.

        Args:
            texts: a text, or a list of them (str or bytes).
            beam_size: the beam width, 1 for greedy (default: the run's; a
                SavedModel's search is fixed).
            return_attention: also return each answer's pieces and
                attention.

        Returns:
            The generated text of each input, in order; with
            `return_attention`, a dict per input: the text, the source's
            and the output's pieces (lists of strings), `attention`, a
            NumPy `(len(output pieces), len(source pieces))` array, and the
            signatures' `per_piece` outputs. One text in, one answer out.
        """
        texts, single = as_list(texts)
        self.check_search(beam_size)
        if self.saved_model is not None:
            answers = self._served(texts, return_attention)
        elif return_attention:
            answers = [
                self._generator.details(text, beam_size) for text in texts
            ]
        else:
            answers = self._generator.generate(texts, beam_size)
        return answers[0] if single else answers

    def _served(self, texts, return_attention):
        names = self.signatures
        if not return_attention:
            served = self.serve("serving_default", text=texts)
            return [text_of(t) for t in served[names.output]]
        served = self.serve(names.details, text=texts)
        return [explained(served, names, i) for i in range(len(texts))]


def explained(served, names, row):
    """One input's answer from the outputs of a `details` signature.

    Args:
        served: the signature's outputs, batch first (strings as bytes).
        names: the app's `TextSignatures`.
        row: the input's row.

    Returns:
        A dict: the generated text, the source's and the output's pieces
        (padding left out), `attention` cut to them and the `per_piece`
        outputs cut to the output's pieces.
    """
    source, generated = (
        [text_of(p) for p in _unpadded(served[name][row])]
        for name in names.pieces
    )
    answer = {
        names.output: text_of(served[names.output][row]),
        names.pieces[0]: source,
        names.pieces[1]: generated,
        "attention": served["attention"][row][: len(generated), : len(source)],
    }
    for name in names.per_piece:
        answer[name] = served[name][row][: len(generated)]
    return answer


def _unpadded(pieces):
    """A row of pieces without its trailing padding (empty pieces).

    Exports before 0.2.0 also give SentencePiece's bare word-start piece
    as an empty piece, inside the row; it is kept.
    """
    pieces = list(pieces)
    while pieces and not pieces[-1]:
        pieces.pop()
    return pieces


def _entries(path):
    """The names in a directory, none when `path` is not one."""
    return os.listdir(path) if os.path.isdir(path) else []


def as_list(inputs):
    """One input or a list of them, as a list, and whether it was one.

    Args:
        inputs: a string (or bytes), or a sequence of them.

    Returns:
        `(list, single)`.
    """
    if isinstance(inputs, (str, bytes)):
        return [inputs], True
    return list(inputs), False


def text_of(value):
    """A string, or bytes (as served) decoded, invalid UTF-8 replaced."""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
