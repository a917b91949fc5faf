"""The `translation` step of `attn demo`: a small English-German Transformer.

It learns the template corpus of `synthetic` in about a minute on a CPU.
"""

import os

from attention_suite.apps.common import demo

# `TranslationConfig` settings of the small Transformer.
SETTINGS = {
    "embedding_dim": 64,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_dim": 128,
    "vocabulary_size": 400,
    "max_length": 24,
    "epochs": 12,
    "batch_size": 32,
    "learning_rate": 0.003,
    "warmup_steps": 50,
    "source": "en",
    "target": "de",
}
EXAMPLES = (
    "Today a dog sleeps on the street.",
    "The girl plays in the snow.",
)


def step(out):
    """Trains a small English-German Transformer on generated sentences.

    Writes the corpus to `<out>/translation_data.tsv`, trains into
    `<out>/translation_run`, prints sacreBLEU on the held-out sentences,
    translates `EXAMPLES`, draws the alignment of the first to
    `<out>/translation_alignment.png`, exports the SavedModel to
    `<out>/saved_models/translation/1` and translates again with it in a
    fresh TensorFlow-only process.

    Args:
        out: the output directory.
    """
    from attention_suite.apps.common import plotting
    from attention_suite.apps.translation import (
        evaluate,
        infer,
        synthetic,
        train,
    )
    from attention_suite.apps.translation.config import TranslationConfig

    tsv = synthetic.write_demo_tsv(os.path.join(out, "translation_data.tsv"))
    config = TranslationConfig(**SETTINGS)
    print(
        f"{len(synthetic.demo_pairs())} generated English-German sentence "
        "pairs; German puts the verb second,\nso an opening adverb swaps "
        "subject and verb. A small Transformer, about a minute of training."
    )
    run_dir = demo.fresh_run_dir(out, "translation_run")
    info = train.train(config, tsv, run_dir)
    print(f"\nTrained in {info['train_seconds']:.0f} s. Held-out sentences:\n")
    print(evaluate.format_report(evaluate.evaluate(run_dir)))
    config, _, tokenizer, model = train.load_run(run_dir)
    translator = infer.Translator(model, tokenizer, config)
    for text, translation in zip(EXAMPLES, translator.translate(EXAMPLES)):
        print(f"{text}  ->  {translation}")
    translation, source, target, weights = translator.translate_with_alignment(
        EXAMPLES[0]
    )
    ax = plotting.plot_attention(weights, source, target, title=translation)
    path = demo.save_plot(ax.figure, out, "translation_alignment.png")
    print(f"Saved the alignment to {path}")
    demo.export_and_serve(
        out,
        "translate",
        "translation",
        run_dir,
        *demo.text_request(EXAMPLES, "translation"),
    )
