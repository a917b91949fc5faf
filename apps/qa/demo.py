"""The `qa` step of `attn demo`: a small BiDAF reader.

It learns the generated biographies of `synthetic` in about a minute on a
CPU.

The app is imported when the step runs, so `attn --help` stays fast.
"""

import os

from attention_suite.apps.common.cli import demo

# `QAConfig` settings of the small BiDAF.
SETTINGS = {
    "vocabulary_size": 400,
    "embedding_dim": 32,
    "units": 32,
    "modeling_layers": 1,
    "window": 48,
    "stride": 24,
    "max_question_length": 12,
    "dropout": 0.0,
    "epochs": 5,
    "batch_size": 32,
    "learning_rate": 0.005,
    "warmup_steps": 20,
}
CONTEXT = (
    "Belmi was born in Torzenka. Kalo works at Vute Bank. "
    "Belmi was born in 1931. Kalo was born in Quisandor."
)
QUESTIONS = ("Where was Belmi born?", "Where does Kalo work?")


def _describe(served):
    """The lines to print for the SavedModel's answers and their spans."""
    return [
        f"{answer.decode('utf-8')}  [{start}, {end})"
        for answer, start, end in zip(
            served["answer"], served["start"], served["end"]
        )
    ]


def step(out):
    """Trains a small BiDAF reader on generated biographies.

    Writes the SQuAD-format data to `<out>/qa_data.json`, trains into
    `<out>/qa_run`, prints exact match and F1 on the held-out articles next
    to the sliding-window baseline, answers `QUESTIONS` about `CONTEXT` with
    their character spans and scores, draws the context-to-query attention
    of the first to `<out>/qa_attention.png`, exports the SavedModel to
    `<out>/saved_models/qa/1` and answers again with it in a fresh
    TensorFlow-only process.

    Args:
        out: the output directory.
    """
    from attention_suite.apps import qa
    from attention_suite.apps.common.cli import plotting
    from attention_suite.apps.common.serving.process import string_array
    from attention_suite.apps.qa import synthetic

    path = synthetic.write_demo_squad(os.path.join(out, "qa_data.json"))
    print(
        "Generated paragraphs tell where two or three people were born, when, "
        "and where they work;\neach question asks one fact about one person. "
        "Names are random syllables."
    )
    run = qa.train(SETTINGS, path, demo.fresh_run_dir(out, "qa_run"))
    print(
        f"\nTrained in {run.info['train_seconds']:.0f} s. Held-out articles:\n"
    )
    print(qa.evaluate(run))
    model = qa.load(run.path)
    print(CONTEXT)
    for question, answer in zip(
        QUESTIONS, model.answer(list(QUESTIONS), CONTEXT)
    ):
        print(
            f"  {question}  ->  {answer['answer']}  [{answer['start']}, "
            f"{answer['end']})  score {answer['score']:.2f}"
        )
    pieces, asked, weights = model.attention(QUESTIONS[0], CONTEXT)
    ax = plotting.plot_attention(weights, asked, pieces, title=QUESTIONS[0])
    path = demo.save_plot(ax.figure, out, "qa_attention.png")
    print(f"Saved the context-to-query attention to {path}")
    demo.serve_export(
        qa.export(
            run, os.path.join(out, "saved_models"), version=1, overwrite=True
        ),
        {
            "context": string_array([CONTEXT] * len(QUESTIONS)),
            "question": string_array(QUESTIONS),
        },
        _describe,
    )
