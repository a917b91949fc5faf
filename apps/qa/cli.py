"""`attn qa <verb>`: the app's own verbs and its `AppSpec`.

`train`, `export` and `serve-check` come from
`attention_suite.apps.common.cli.commands`; this module adds `evaluate` and
`predict`. Every verb calls the app's Python API
(`attention_suite.apps.qa.api`).

matplotlib is imported only for `--plot`.
"""

from attention_suite.apps.common.cli import commands
from attention_suite.apps.common.cli.appspec import AppSpec
from attention_suite.apps.qa import api, signature
from attention_suite.apps.qa.config import COMPARE_WINDOWS


def _evaluate(args):
    report = api.evaluate(
        args.run,
        split=args.split,
        data_dir=args.data_dir,
        limit=args.limit,
        compare_windows=args.compare_windows,
    )
    print(report.markdown, end="")
    return 0


def answer_line(question, found):
    """How `predict` and `attn client qa` print one answer.

    Args:
        question: the question.
        found: a dict with `answer`, `start`, `end` (character offsets into
            the context) and `score`.

    Returns:
        `question<TAB>answer<TAB>[start, end)<TAB>score S`.
    """
    return (
        f"{question}\t{found['answer']}\t[{found['start']}, {found['end']})"
        f"\tscore {found['score']:.3f}"
    )


def context_of(args):
    """The context of `--context TEXT` or `--context-file PATH`."""
    if args.context_file is not None:
        return commands.read_file(args.context_file)
    commands.note_file_names([args.context], "--context-file")
    return args.context


def add_context_options(parser):
    """Adds `--context TEXT` and `--context-file PATH`, one required.

    Args:
        parser: the verb's parser.
    """
    context = parser.add_mutually_exclusive_group(required=True)
    context.add_argument("--context", help="the context, as text")
    context.add_argument(
        "--context-file", metavar="PATH", help="a file holding the context"
    )


def _predict(args):
    context = context_of(args)
    if not (
        context.decode("utf-8", "replace")
        if isinstance(context, bytes)
        else context
    ).strip():
        raise ValueError(
            "The context is empty: there is nothing to answer from."
        )
    model = api.load(args.run)
    answers = model.answer(args.question, context)
    for question, found in zip(args.question, answers):
        print(answer_line(question, found))
    if args.plot:
        from attention_suite.apps.common.cli.plotting import (
            save_attention_plots,
        )

        figures = []
        for question in args.question:
            pieces, asked, weights = model.attention(question, context)
            figures.append(
                (weights, asked, pieces, "context-to-query attention")
            )
        paths = save_attention_plots(args.plot, figures)
        print(f"Attention written to {', '.join(paths)}")
    return 0


def _describe(outputs):
    return [
        f"{answer.decode('utf-8')!r} [{start}, {end}) score {score:.3f}"
        for answer, start, end, score in zip(
            outputs["answer"],
            outputs["start"],
            outputs["end"],
            outputs["score"],
        )
    ]


def add_verbs(verbs):
    """Adds `attn qa evaluate` and `predict`.

    Args:
        verbs: the app's sub-parsers action.
    """
    evaluate = verbs.add_parser(
        "evaluate",
        help="exact match and F1 on the test split, with the baseline",
    )
    commands.add_run_option(evaluate)
    commands.add_split_option(evaluate)
    evaluate.add_argument(
        "--limit",
        type=int,
        default=0,
        metavar="N",
        help="score only the first N questions (default: all)",
    )
    evaluate.add_argument(
        "--compare-windows",
        choices=COMPARE_WINDOWS,
        help="how the windows' best spans compete, instead of the run's "
        "setting (choose it with --split val)",
    )
    commands.add_data_dir_option(evaluate)
    commands.add_progress_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    predict = verbs.add_parser(
        "predict", help="answer questions about a context (text or a file)"
    )
    commands.add_run_option(predict)
    add_context_options(predict)
    predict.add_argument(
        "--plot",
        help="PNG of BiDAF's context-to-query attention for each question "
        "(several: PNG-1, PNG-2, ...)",
    )
    commands.add_progress_option(predict)
    predict.add_argument("question", nargs="+", help="the questions")
    predict.set_defaults(handler=_predict)


def _add_client_arguments(parser):
    add_context_options(parser)
    parser.add_argument("question", nargs="+", help="the questions")


def _ask(server, args):
    context_name, question_name = signature.INPUTS
    outputs = server.predict(
        {
            context_name: commands.request_strings(
                [context_of(args)] * len(args.question)
            ),
            question_name: commands.request_strings(args.question),
        },
        dict(zip(signature.OUTPUTS, (str, int, int, float))),
    )
    return [
        answer_line(
            question,
            {
                "answer": outputs["answer"][i].decode("utf-8", "replace"),
                "start": int(outputs["start"][i]),
                "end": int(outputs["end"][i]),
                "score": float(outputs["score"][i]),
            },
        )
        for i, question in enumerate(args.question)
    ]


SPEC = AppSpec(
    command=api.COMMAND,
    folder=api.FOLDER,
    help="extractive question answering (SQuAD, your own SQuAD JSON)",
    config=api.QAConfig,
    train=api.train,
    evaluate=api.evaluate,
    load=api.load,
    export=api.export,
    add_verbs=add_verbs,
    train_help="train a span reader (BiDAF or a pretrained encoder)",
    data_help="'squad' (default) or a SQuAD-format JSON file",
    noun="answers",
    signatures=("serving_default",),
    serving_imports=api.QAPipeline.serving_imports,
    describe=_describe,
    add_client_arguments=_add_client_arguments,
    ask=_ask,
)
