"""Answering questions about raw strings with a trained reader.

The text handling, windowing and span decoding are those of
`attention_suite.apps.qa.features`, the same here and in the SavedModel:

* bytes that are not valid UTF-8 become U+FFFD, and the returned character
  offsets index the repaired context (emoji and other non-ASCII characters
  count as one character, as in Python);
* a context longer than `max_context_tokens` pieces (about 4 characters a
  piece in English) is read up to there: a 100,000-character context is
  answered from its first ~16,000 characters with the default 4,096;
* every question gets the best span of its context, even when the context
  does not hold the answer: a low `score` (`p_start * p_end`, in [0, 1])
  says so. A context with no pieces (empty, blank) or a blank question
  gets the empty answer with score 0.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from attention_suite.apps.common.training.progress import progress_bar
from attention_suite.apps.qa import features

# Windows per model call in eager prediction.
_WINDOW_BATCH = 64


class Reader:
    """Answers questions with a trained model, its tokenizer and config.

    Args:
        model: a `BiDAF` or `EncoderReader`.
        tokenizer: the run's `QATokenizer`.
        config: the run's `QAConfig`.
    """

    def __init__(self, model, tokenizer, config):
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.input_names = features.INPUTS[config.layout]

    def features(self, contexts, questions):
        """`(repaired contexts, features)` of string tensors `(B,)`."""
        contexts = features.repair_utf8(contexts)
        found = features.encode(
            self.tokenizer,
            contexts,
            features.repair_utf8(questions),
            self.config,
        )
        return contexts, found

    def decode(self, contexts, questions, found, logits):
        """The answer dict of each input from its windows' logits.

        A blank question (empty, or white space only) asks nothing: it gets
        the empty answer with score 0, as a context with no pieces does.
        """
        starts, ends, scores = features.best_spans(
            logits,
            found,
            tf.shape(contexts)[0],
            self.config.max_answer_tokens,
            self.config.compare_windows,
        )
        blank = tf.strings.length(tf.strings.strip(questions)) == 0
        starts = tf.where(blank, 0, starts)
        ends = tf.where(blank, 0, ends)
        scores = tf.where(blank, 0.0, scores)
        answer, start, end = features.answers(contexts, starts, ends)
        return {"answer": answer, "start": start, "end": end, "score": scores}

    def serve(self, contexts, questions):
        """The whole pipeline in TensorFlow ops (TensorFlow backend only).

        Args:
            contexts: `tf.string [B]`.
            questions: `tf.string [B]`.

        Returns:
            A dict: `answer` `tf.string [B]`, `start` and `end` int32
            character offsets, `score` float32.
        """
        contexts, found = self.features(contexts, questions)
        logits = self.model(
            {name: found[name] for name in self.input_names}, training=False
        )
        return self.decode(contexts, questions, found, logits)

    def logits(self, found):
        """The model's logits of every window, in batches (any backend).

        Windows are taken in order of length, `_WINDOW_BATCH` at a time, each
        batch padded to `_WINDOW_BATCH` rows and (packed layout) cut to a
        multiple of `features.LENGTH_STEP` positions, so the compiled
        predict function sees few shapes and short windows cost less.
        """
        inputs = {name: found[name].numpy() for name in self.input_names}
        layout = self.config.layout
        count, full = inputs[features.SEQUENCE_INPUTS[layout][0]].shape
        lengths = features.row_lengths(inputs, layout, self.tokenizer.pad_id)
        order = np.argsort(lengths, kind="stable")
        logits = np.full((count, 2, full), features.VERY_LOW, np.float32)
        for first in range(0, count, _WINDOW_BATCH):
            rows = order[first : first + _WINDOW_BATCH]
            width = int(
                features.bucket_widths(lengths[rows].max(), full, layout)
            )
            batch = {
                name: np.pad(
                    value[rows], ((0, _WINDOW_BATCH - len(rows)), (0, 0))
                )
                for name, value in features.trim(inputs, layout, width).items()
            }
            out = np.asarray(self.model.predict_on_batch(batch), np.float32)
            logits[rows, :, :width] = out[: len(rows)]
        return tf.constant(logits)

    def answer(self, contexts, questions, batch_size=256):
        """Answers each question about its context.

        A progress bar on stderr
        (`attention_suite.apps.common.training.progress`) counts the
        questions answered.

        Args:
            contexts: list of strings (or bytes).
            questions: aligned list of strings (or bytes).
            batch_size: questions per pipeline call.

        Returns:
            A list of dicts with `answer` (str), `start`, `end` (character
            offsets into the repaired context) and `score`.
        """
        if len(contexts) != len(questions):
            raise ValueError(
                f"{len(contexts)} contexts but {len(questions)} questions: "
                "each question needs its context."
            )
        results = []
        with progress_bar(len(contexts), "answering", "question") as bar:
            for first in range(0, len(contexts), batch_size):
                batch_questions = tf.constant(
                    list(questions[first : first + batch_size])
                )
                batch_contexts, found = self.features(
                    tf.constant(list(contexts[first : first + batch_size])),
                    batch_questions,
                )
                out = self.decode(
                    batch_contexts, batch_questions, found, self.logits(found)
                )
                for answer, start, end, score in zip(
                    out["answer"].numpy(),
                    out["start"].numpy(),
                    out["end"].numpy(),
                    out["score"].numpy(),
                ):
                    results.append(
                        {
                            "answer": answer.decode("utf-8"),
                            "start": int(start),
                            "end": int(end),
                            "score": float(score),
                        }
                    )
                bar.update(len(questions[first : first + batch_size]))
        return results

    def attention(self, context, question):
        """BiDAF's context-to-query weights of one pair's first window.

        Args:
            context: a string.
            question: a string.

        Returns:
            `(context_pieces, question_pieces, weights)`: the piece strings
            and the NumPy weights `(len(context_pieces),
            len(question_pieces))`.

        Raises:
            ValueError: the model is not BiDAF.
        """
        if self.config.model != "bidaf":
            raise ValueError("Only BiDAF has a context-to-query attention map.")
        _, found = self.features(
            tf.constant([context]), tf.constant([question])
        )
        inputs = {name: found[name][:1].numpy() for name in self.input_names}
        _, weights = self.model(inputs, return_attention_scores=True)
        pieces = [
            [
                self.tokenizer.vocabulary[i]
                for i in ids
                if i != self.tokenizer.pad_id
            ]
            for ids in (inputs["context_ids"][0], inputs["question_ids"][0])
        ]
        weights = ops.convert_to_numpy(weights)[0]
        return pieces[0], pieces[1], weights[: len(pieces[0]), : len(pieces[1])]
