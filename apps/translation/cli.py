"""`attn translate <verb>`: the app's own verbs and its `AppSpec`.

`train`, `export` and `serve-check` come from
`attention_suite.apps.common.cli.commands`; this module adds `evaluate` and
`predict`. Every verb calls the app's Python API
(`attention_suite.apps.translation.api`).

matplotlib is imported only for `--plot`.
"""

import sys

from attention_suite.apps.common.cli import commands
from attention_suite.apps.common.cli.appspec import AppSpec
from attention_suite.apps.translation import api


def _evaluate(args):
    report = api.evaluate(
        args.run,
        split=args.split,
        beam_size=args.beam_size,
        data_dir=args.data_dir,
    )
    print(report.markdown, end="")
    return 0


def _predict(args):
    commands.note_file_names(args.text, "--file")
    texts = args.text + commands.file_lines(args.file) or [
        line.rstrip("\n") for line in sys.stdin
    ]
    model = api.load(args.run)
    answers = model.translate(
        texts, args.beam_size, return_attention=bool(args.plot)
    )
    if not args.plot:
        print("\n".join(answers))
        return 0
    from attention_suite.apps.common.cli.plotting import save_attention_plots

    for answer in answers:
        print(answer["translation"])
    paths = save_attention_plots(
        args.plot,
        [
            (
                a["attention"],
                a["source_pieces"],
                a["target_pieces"],
                a["translation"],
            )
            for a in answers
        ],
    )
    print(f"Alignment written to {', '.join(paths)}")
    return 0


def add_verbs(verbs):
    """Adds `attn translate evaluate` and `predict`.

    Args:
        verbs: the app's sub-parsers action.
    """
    evaluate = verbs.add_parser(
        "evaluate", help="sacreBLEU and chrF on the test split, with a baseline"
    )
    commands.add_run_option(evaluate)
    commands.add_split_option(evaluate)
    commands.add_beam_size_option(evaluate)
    commands.add_data_dir_option(evaluate)
    commands.add_progress_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    predict = verbs.add_parser(
        "predict", help="translate sentences (or stdin lines)"
    )
    commands.add_run_option(predict)
    commands.add_beam_size_option(predict)
    predict.add_argument(
        "--plot",
        help="PNG of each sentence's alignment (several: PNG-1, PNG-2, ...)",
    )
    commands.add_progress_option(predict)
    commands.add_file_option(predict, "a file of sentences, one a line")
    predict.add_argument(
        "text", nargs="*", help="sentences (default: read stdin)"
    )
    predict.set_defaults(handler=_predict)


_add_client_arguments, _ask = commands.text_client(
    api.SIGNATURES,
    lines=True,
    help="sentences to translate, as text",
    file_help="a file of sentences, one a line",
)

SPEC = AppSpec(
    command=api.COMMAND,
    folder=api.FOLDER,
    help="machine translation (Multi30k, your own TSV pairs)",
    config=api.TranslationConfig,
    train=api.train,
    evaluate=api.evaluate,
    load=api.load,
    export=api.export,
    add_verbs=add_verbs,
    train_help="learn a tokenizer and train a translator",
    data_help="'multi30k' (default) or a TSV of source<TAB>target lines",
    noun="translations",
    signatures=api.SIGNATURES.names,
    serving_imports=api.TranslationPipeline.serving_imports,
    describe=commands.describe_strings(api.SIGNATURES.output),
    add_client_arguments=_add_client_arguments,
    ask=_ask,
    sharding=api.TOKEN_EMBEDDING_SHARDING,
)
