"""The `qa` step of `attn demo`: a small BiDAF reader.

It learns the generated biographies of `synthetic` in about a minute on a
CPU.
"""

import os

from attention_suite.apps.common import demo

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
    from attention_suite.apps.common import plotting
    from attention_suite.apps.common.verify import string_array
    from attention_suite.apps.qa import evaluate, infer, synthetic, train
    from attention_suite.apps.qa.config import QAConfig

    path = synthetic.write_demo_squad(os.path.join(out, "qa_data.json"))
    print(
        "Generated paragraphs tell where two or three people were born, when, "
        "and where they work;\neach question asks one fact about one person. "
        "Names are random syllables."
    )
    run_dir = demo.fresh_run_dir(out, "qa_run")
    info = train.train(QAConfig(**SETTINGS), path, run_dir)
    print(f"\nTrained in {info['train_seconds']:.0f} s. Held-out articles:\n")
    print(evaluate.format_report(evaluate.evaluate(run_dir)))
    config, _, tokenizer, model = train.load_run(run_dir)
    reader = infer.Reader(model, tokenizer, config)
    contexts = [CONTEXT] * len(QUESTIONS)
    print(CONTEXT)
    for question, answer in zip(
        QUESTIONS, reader.answer(contexts, list(QUESTIONS))
    ):
        print(
            f"  {question}  ->  {answer['answer']}  [{answer['start']}, "
            f"{answer['end']})  score {answer['score']:.2f}"
        )
    pieces, asked, weights = reader.attention(CONTEXT, QUESTIONS[0])
    ax = plotting.plot_attention(weights, asked, pieces, title=QUESTIONS[0])
    path = demo.save_plot(ax.figure, out, "qa_attention.png")
    print(f"Saved the context-to-query attention to {path}")
    demo.export_and_serve(
        out,
        "qa",
        "qa",
        run_dir,
        {
            "context": string_array(contexts),
            "question": string_array(QUESTIONS),
        },
        _describe,
    )
