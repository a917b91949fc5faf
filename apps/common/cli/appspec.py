"""The contract every app fulfils: one `AppSpec` says what it provides.

`attn` (`attention_suite.apps.cli`) and `attn client`
(`attention_suite.apps.client`) iterate over the apps' specs; nothing finds
an app's parts by module name.
"""

import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class AppSpec:
    """What one app provides to the command line, the client and the API.

    The entry points are the app's Python API (`attention_suite.apps.<app>`):
    they import the backend only when called, so building the parser stays
    fast.

    Args:
        command: the app's command, `attn <command> <verb>`.
        folder: its directory under `saved_models/`, which is also the TF
            Serving model name; `attn client` takes either name.
        help: the command's one-line help.
        config: the config dataclass of a run.
        train: `train(config, data, out, data_dir, *, resume, overwrite,
            distribution, devices, precision, model_devices, **options)`
            returning a `Run`.
        evaluate: `evaluate(run, split, **options)` returning the report.
        load: `load(path)` returning the app's pipeline, from a run
            directory or an exported SavedModel.
        export: `export(run, base, version, overwrite, keep)` returning the
            version directory written.
        add_verbs: adds the app's own verbs (`evaluate`, `predict`) and
            options to its sub-parsers action.
        train_help: the `train` verb's help.
        data_help: the help of `train --data`.
        noun: what the app produces, plural (e.g. `"translations"`).
        signatures: the SavedModel's signature names, `serving_default`
            first.
        serving_imports: modules a serving process imports besides
            TensorFlow (for the graph's ops).
        describe: maps one served response (NumPy outputs by name) to the
            lines `serve-check` prints.
        add_client_arguments: adds the inputs of `attn client <app>`.
        ask: `ask(server, args)` sends the client's request and returns
            the lines to print.
        add_train_options: adds the app's own `train` options (or `None`).
        train_options: maps the parsed `train` arguments and the resumed
            run's `run.json` (`{}` for a new run) to the app's extra
            `train` keyword arguments (or `None`).
        sharding: the weights `--distribution model-parallel` splits (a
            `distribute.Sharding`), or `None` when the app offers none.
    """

    command: str
    folder: str
    help: str
    config: type
    train: typing.Callable
    evaluate: typing.Callable
    load: typing.Callable
    export: typing.Callable
    add_verbs: typing.Callable
    train_help: str
    data_help: str
    noun: str
    signatures: tuple
    serving_imports: tuple
    describe: typing.Callable
    add_client_arguments: typing.Callable
    ask: typing.Callable
    add_train_options: typing.Optional[typing.Callable] = None
    train_options: typing.Optional[typing.Callable] = None
    sharding: object = None

    @property
    def names(self):
        """The names `attn client` accepts for the app: folder, command."""
        return tuple(dict.fromkeys((self.folder, self.command)))
