"""`attn summarize <verb>`: the app's own verbs and its `AppSpec`.

`train`, `export` and `serve-check` come from
`attention_suite.apps.common.cli.commands`; this module adds `evaluate` and
`predict`. Every verb calls the app's Python API
(`attention_suite.apps.summarization.api`).

matplotlib is imported only for `--plot`.
"""

import sys

from attention_suite.apps.common.cli import commands
from attention_suite.apps.common.cli.appspec import AppSpec
from attention_suite.apps.summarization import api


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
    documents = args.text + [commands.read_file(p) for p in args.file] or [
        sys.stdin.read()
    ]
    answers = api.load(args.run).summarize(
        documents, args.beam_size, return_attention=bool(args.plot)
    )
    if not args.plot:
        print("\n".join(answers))
        return 0
    from attention_suite.apps.common.cli.plotting import save_attention_plots

    for answer in answers:
        print(answer["summary"])
    paths = save_attention_plots(
        args.plot,
        [
            (
                a["attention"],
                a["source_pieces"],
                a["summary_pieces"],
                a["summary"],
            )
            for a in answers
        ],
    )
    print(f"Attention written to {', '.join(paths)}")
    return 0


def add_verbs(verbs):
    """Adds `attn summarize evaluate` and `predict`.

    Args:
        verbs: the app's sub-parsers action.
    """
    evaluate = verbs.add_parser(
        "evaluate",
        help="ROUGE-1/2/L on the test split, with the Lead baselines",
    )
    commands.add_run_option(evaluate)
    commands.add_split_option(evaluate)
    commands.add_beam_size_option(evaluate)
    commands.add_data_dir_option(evaluate)
    commands.add_progress_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    predict = verbs.add_parser(
        "predict", help="summarize documents (texts, --file; default: stdin)"
    )
    commands.add_run_option(predict)
    commands.add_beam_size_option(predict)
    predict.add_argument(
        "--plot",
        help="PNG of each document's attention (several: PNG-1, PNG-2, ...)",
    )
    commands.add_progress_option(predict)
    commands.add_file_option(predict, "a file holding one document")
    predict.add_argument(
        "text", nargs="*", help="documents to summarize, as text"
    )
    predict.set_defaults(handler=_predict)


_add_client_arguments, _ask = commands.text_client(
    api.SIGNATURES,
    lines=False,
    help="documents to summarize, as text",
    file_help="a file holding one document",
)

SPEC = AppSpec(
    command=api.COMMAND,
    folder=api.FOLDER,
    help="abstractive summarization (AESLC, BBC News, your own JSONL/CSV)",
    config=api.SummarizationConfig,
    train=api.train,
    evaluate=api.evaluate,
    load=api.load,
    export=api.export,
    add_verbs=add_verbs,
    train_help="learn a tokenizer and train a summarizer",
    data_help="'aeslc' (default), 'bbc' or a JSONL/CSV file with text and "
    "summary fields",
    noun="summaries",
    signatures=api.SIGNATURES.names,
    serving_imports=api.SummarizationPipeline.serving_imports,
    describe=commands.describe_strings(api.SIGNATURES.output),
    add_client_arguments=_add_client_arguments,
    ask=_ask,
    sharding=api.TOKEN_EMBEDDING_SHARDING,
)
