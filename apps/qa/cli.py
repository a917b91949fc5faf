"""`attn qa <verb>`: train, evaluate, predict, export, serve-check."""

from attention_suite.apps.common import commands
from attention_suite.apps.qa.config import COMPARE_WINDOWS


def _evaluate(args):
    from attention_suite.apps.qa import evaluate

    report = evaluate.evaluate(
        args.run,
        split=args.split,
        data_dir=args.data_dir,
        limit=args.limit,
        compare_windows=args.compare_windows,
    )
    print(evaluate.format_report(report), end="")
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
    from attention_suite.apps.qa import infer, train

    context = context_of(args)
    if not (
        context.decode("utf-8", "replace")
        if isinstance(context, bytes)
        else context
    ).strip():
        raise ValueError(
            "The context is empty: there is nothing to answer from."
        )
    questions = [q for q in args.question if q.strip()]
    if len(questions) != len(args.question) or not questions:
        raise ValueError("Every question must be non-empty.")
    config, _, tokenizer, model = train.load_run(args.run)
    reader = infer.Reader(model, tokenizer, config)
    for question, found in zip(
        questions, reader.answer([context] * len(questions), questions)
    ):
        print(answer_line(question, found))
    if args.plot:
        from attention_suite.apps.common.plotting import save_attention_plots

        text = (
            context.decode("utf-8", "replace")
            if isinstance(context, bytes)
            else context
        )
        figures = []
        for question in questions:
            pieces, asked, weights = reader.attention(text, question)
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


def add_parser(subparsers):
    """Adds `attn qa` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    verbs = commands.add_app(
        subparsers,
        "qa",
        "extractive question answering (SQuAD, your own SQuAD JSON)",
    )
    commands.add_train_verb(
        verbs,
        "train a span reader (BiDAF or a pretrained encoder)",
        "'squad' (default) or a SQuAD-format JSON file",
        "attention_suite.apps.qa",
        "QAConfig",
    )

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

    commands.add_serving_verbs(
        verbs,
        "qa",
        "qa",
        "attention_suite.apps.qa.export",
        "answers",
        _describe,
    )
