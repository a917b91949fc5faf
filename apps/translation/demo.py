"""The `translation` step of `attn demo`: a small English-German Transformer.

It learns the template corpus of `synthetic` in about a minute on a CPU.

The app is imported when the step runs, so `attn --help` stays fast.
"""

import os

from attention_suite.apps.common.cli import demo

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
    from attention_suite.apps import translation
    from attention_suite.apps.common.cli import plotting
    from attention_suite.apps.translation import synthetic

    tsv = synthetic.write_demo_tsv(os.path.join(out, "translation_data.tsv"))
    print(
        f"{len(synthetic.demo_pairs())} generated English-German sentence "
        "pairs; German puts the verb second,\nso an opening adverb swaps "
        "subject and verb. A small Transformer, about a minute of training."
    )
    run = translation.train(
        SETTINGS, tsv, demo.fresh_run_dir(out, "translation_run")
    )
    print(
        f"\nTrained in {run.info['train_seconds']:.0f} s. Held-out sentences:\n"
    )
    print(translation.evaluate(run))
    model = translation.load(run.path)
    for text, answer in zip(EXAMPLES, model.translate(list(EXAMPLES))):
        print(f"{text}  ->  {answer}")
    first = model.translate(EXAMPLES[0], return_attention=True)
    ax = plotting.plot_attention(
        first["attention"],
        first["source_pieces"],
        first["target_pieces"],
        title=first["translation"],
    )
    path = demo.save_plot(ax.figure, out, "translation_alignment.png")
    print(f"Saved the alignment to {path}")
    demo.serve_export(
        translation.export(
            run, os.path.join(out, "saved_models"), version=1, overwrite=True
        ),
        *demo.text_request(EXAMPLES, "translation"),
    )
