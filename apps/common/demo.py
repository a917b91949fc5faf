"""What the steps of `attn demo` share: run directories, figures, exports.

Keras and matplotlib are imported inside the functions: `attn --help`
imports every step's module and should not wait for them.
"""

import os
import shutil


def fresh_run_dir(out, name):
    """Returns an empty run directory `<out>/<name>`.

    A run directory resumes the run it holds; the demo starts afresh, so it
    deletes whatever an earlier demo left there.

    Args:
        out: the output directory.
        name: the run directory's name, e.g. `"translation_run"`.

    Returns:
        The path of the run directory, which does not exist yet.
    """
    run_dir = os.path.join(out, name)
    shutil.rmtree(run_dir, ignore_errors=True)
    return run_dir


def save_plot(figure, out, name):
    """Saves a figure to `<out>/<name>` and closes it.

    Args:
        figure: the matplotlib `Figure`.
        out: the output directory.
        name: the file's name; its extension picks the format.

    Returns:
        The path of the saved file.
    """
    from matplotlib import pyplot as plt

    from attention_suite.apps.common import plotting

    path = plotting.save_figure(figure, os.path.join(out, name))
    plt.close(figure)
    return path


def text_request(texts, output):
    """A request for a strings-in, strings-out SavedModel, and its reader.

    Args:
        texts: the strings of the `text` input.
        output: the name of the string output to print.

    Returns:
        A tuple `(request, describe)` for `export_and_serve`.
    """
    from attention_suite.apps.common.verify import string_array

    def describe(served):
        return [text.decode("utf-8") for text in served[output]]

    return {"text": string_array(texts)}, describe


def export_and_serve(out, command, app, run_dir, request, describe):
    """Exports a run and serves one request with it in a fresh process.

    The export is `attn <command> export`: it runs under TensorFlow whatever
    the backend (in a subprocess when it is another) and fails unless the
    SavedModel agrees with the Keras model. Prints what the SavedModel
    answers.

    Args:
        out: the output directory; the export goes to
            `<out>/saved_models/<app>/1`.
        command: the app's command, e.g. `"translate"`.
        app: the app's directory under `saved_models/`.
        run_dir: the trained run.
        request: the `serving_default` inputs, NumPy arrays by name.
        describe: maps the served outputs to the lines to print.

    Raises:
        RuntimeError: the export failed.
    """
    from attention_suite.apps import cli
    from attention_suite.apps.common.verify import run_saved_model

    base = os.path.join(out, "saved_models")
    code = cli.main(
        [
            command,
            "export",
            "--run",
            run_dir,
            "--model-version",
            "1",
            "--base",
            base,
            "--overwrite",
        ]
    )
    if code:
        raise RuntimeError(f"The {app} export failed.")
    (served,) = run_saved_model(
        os.path.join(base, app, "1"),
        [request],
        imports=("tensorflow_text",),
    )
    print("The SavedModel, in a fresh TensorFlow-only process:")
    for line in describe(served):
        print(f"  {line}")
