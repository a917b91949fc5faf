"""The `summarization` step of `attn demo`: a small pointer-generator.

It learns the generated emails of `synthetic` in well under a minute on a
CPU.

The app is imported when the step runs, so `attn --help` stays fast.
"""

import os

from attention_suite.apps.common.cli import demo

# `SummarizationConfig` settings of the small pointer-generator.
SETTINGS = {
    "vocabulary_size": 200,
    "embedding_dim": 32,
    "units": 48,
    "attention_units": 48,
    "max_source_length": 64,
    "max_summary_length": 12,
    "dropout": 0.0,
    "epochs": 10,
    "batch_size": 32,
    "learning_rate": 0.01,
    "warmup_steps": 20,
}
EXAMPLES = (
    "Hi Grace,\nThe site visit for Zenkalo is now planned for Tuesday.\n"
    "Thanks,\nHugo",
    "Hi Ben,\nCould we talk about the price update for Belmira on Friday?\n"
    "Thanks,\nAnna",
)


def _copied(found):
    """Each summary piece with the probability that it was copied.

    Args:
        found: what `Summarizer.details` returns.

    Returns:
        A line of `piece(copy%)` entries; blank pieces and `</s>` are left
        out.
    """
    return " ".join(
        f"{piece}({p:.0%})"
        for piece, p in zip(found["summary_pieces"], found["copy_probability"])
        if piece.strip() and piece != "</s>"
    )


def step(out):
    """Trains a small pointer-generator on generated emails and subjects.

    Writes the emails to `<out>/summarization_data.jsonl`, trains into
    `<out>/summarization_run`, prints ROUGE on the held-out emails next to
    the Lead baselines, summarizes `EXAMPLES` with the share of each summary
    word that was copied, draws the attention of the first to
    `<out>/summarization_attention.png`, exports the SavedModel to
    `<out>/saved_models/summarization/1` and summarizes again with it in a
    fresh TensorFlow-only process.

    Args:
        out: the output directory.
    """
    from attention_suite.apps import summarization
    from attention_suite.apps.common.cli import plotting
    from attention_suite.apps.summarization import synthetic

    path = synthetic.write_demo_jsonl(
        os.path.join(out, "summarization_data.jsonl")
    )
    print(
        "600 generated emails, each about a topic for a project on a day; the "
        "subject names all three.\nProject names are random syllables: the "
        "model must copy them from the email."
    )
    run = summarization.train(
        SETTINGS, path, demo.fresh_run_dir(out, "summarization_run")
    )
    print(f"\nTrained in {run.info['train_seconds']:.0f} s. Held-out emails:\n")
    print(summarization.evaluate(run))
    details = summarization.load(run.path).summarize(
        list(EXAMPLES), return_attention=True
    )
    for text, found in zip(EXAMPLES, details):
        print(f"{' / '.join(text.splitlines())}  ->  {found['summary']}")
        print(f"  copied: {_copied(found)}")
    first = details[0]
    ax = plotting.plot_attention(
        first["attention"],
        first["source_pieces"],
        first["summary_pieces"],
        title=first["summary"],
    )
    path = demo.save_plot(ax.figure, out, "summarization_attention.png")
    print(f"Saved the attention to {path}")
    demo.serve_export(
        summarization.export(
            run, os.path.join(out, "saved_models"), version=1, overwrite=True
        ),
        *demo.text_request(EXAMPLES, "summary"),
    )
