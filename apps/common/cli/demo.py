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

    from attention_suite.apps.common.cli import plotting

    path = plotting.save_figure(figure, os.path.join(out, name))
    plt.close(figure)
    return path


def text_request(texts, output):
    """A request for a strings-in, strings-out SavedModel, and its reader.

    Args:
        texts: the strings of the `text` input.
        output: the name of the string output to print.

    Returns:
        A tuple `(request, describe)` for `serve_export`.
    """
    from attention_suite.apps.common.serving.process import string_array

    def describe(served):
        return [text.decode("utf-8") for text in served[output]]

    return {"text": string_array(texts)}, describe


def serve_export(path, request, describe, imports=("tensorflow_text",)):
    """Serves one request with an exported version in a fresh process.

    Prints what the SavedModel answers, in a process that imports only
    TensorFlow and `imports`, as a serving machine would.

    Args:
        path: the exported version directory.
        request: the `serving_default` inputs, NumPy arrays by name.
        describe: maps the served outputs to the lines to print.
        imports: modules the serving process needs besides TensorFlow.
    """
    from attention_suite.apps.common.serving.process import run_saved_model

    (served,) = run_saved_model(path, [request], imports=imports)
    print(f"Exported to {path}.")
    print("The SavedModel, in a fresh TensorFlow-only process:")
    for line in describe(served):
        print(f"  {line}")
