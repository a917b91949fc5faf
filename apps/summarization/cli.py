"""`attn summarize <verb>`: train, evaluate, predict, export, serve-check."""

import sys

from attention_suite.apps.common import commands, distribute


def _evaluate(args):
    from attention_suite.apps.summarization import evaluate

    report = evaluate.evaluate(
        args.run,
        split=args.split,
        beam_size=args.beam_size,
        data_dir=args.data_dir,
    )
    print(evaluate.format_report(report), end="")
    return 0


def _predict(args):
    from attention_suite.apps.summarization import infer, train

    config, _, tokenizer, model = train.load_run(args.run)
    summarizer = infer.Summarizer(model, tokenizer, config)
    documents = args.text + [commands.read_file(p) for p in args.file] or [
        sys.stdin.read()
    ]
    if args.plot:
        from attention_suite.apps.common.plotting import save_attention_plots

        figures = []
        for document in documents:
            details = summarizer.summarize_with_details(
                document, args.beam_size
            )
            print(details["summary"])
            figures.append(
                (
                    details["attention"],
                    details["source_pieces"],
                    details["summary_pieces"],
                    details["summary"],
                )
            )
        paths = save_attention_plots(args.plot, figures)
        print(f"Attention written to {', '.join(paths)}")
        return 0
    for summary in summarizer.summarize(documents, args.beam_size):
        print(summary)
    return 0


def add_parser(subparsers):
    """Adds `attn summarize` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    verbs = commands.add_app(
        subparsers,
        "summarize",
        "abstractive summarization (AESLC, BBC News, your own JSONL/CSV)",
    )

    commands.add_train_verb(
        verbs,
        "learn a tokenizer and train a summarizer",
        "'aeslc' (default), 'bbc' or a JSONL/CSV file with text and "
        "summary fields",
        "attention_suite.apps.summarization",
        "SummarizationConfig",
        sharding=distribute.TOKEN_EMBEDDING_SHARDING,
    )

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

    commands.add_serving_verbs(
        verbs,
        "summarize",
        "summarization",
        "attention_suite.apps.summarization.export",
        "summaries",
        commands.describe_strings("summary"),
    )
