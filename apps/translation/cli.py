"""`attn translate <verb>`: train, evaluate, predict, export, serve-check."""

import sys

from attention_suite.apps.common import commands, distribute


def _evaluate(args):
    from attention_suite.apps.translation import evaluate

    report = evaluate.evaluate(
        args.run,
        split=args.split,
        beam_size=args.beam_size,
        data_dir=args.data_dir,
    )
    print(evaluate.format_report(report), end="")
    return 0


def _predict(args):
    from attention_suite.apps.translation import infer, train

    config, _, tokenizer, model = train.load_run(args.run)
    translator = infer.Translator(model, tokenizer, config)
    texts = args.text + commands.file_lines(args.file) or [
        line.rstrip("\n") for line in sys.stdin
    ]
    if args.plot:
        from attention_suite.apps.common.plotting import save_attention_plots

        figures = []
        for text in texts:
            translation, source, target, weights = (
                translator.translate_with_alignment(text, args.beam_size)
            )
            print(translation)
            figures.append((weights, source, target, translation))
        paths = save_attention_plots(args.plot, figures)
        print(f"Alignment written to {', '.join(paths)}")
        return 0
    for translation in translator.translate(texts, args.beam_size):
        print(translation)
    return 0


def add_parser(subparsers):
    """Adds `attn translate` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    verbs = commands.add_app(
        subparsers,
        "translate",
        "machine translation (Multi30k, your own TSV pairs)",
    )

    commands.add_train_verb(
        verbs,
        "learn a tokenizer and train a translator",
        "'multi30k' (default) or a TSV of source<TAB>target lines",
        "attention_suite.apps.translation",
        "TranslationConfig",
        sharding=distribute.TOKEN_EMBEDDING_SHARDING,
    )

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

    commands.add_serving_verbs(
        verbs,
        "translate",
        "translation",
        "attention_suite.apps.translation.export",
        "translations",
        commands.describe_strings("translation"),
    )
