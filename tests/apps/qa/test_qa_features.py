"""Tokenization, windowing, span labels and span decoding of the QA app:
answers map back to their exact characters through every window, the word
and length rules of decoding hold, and odd inputs (empty, emoji, bytes that
are not UTF-8) give offsets into what was sent."""

import types

import numpy as np
import pytest
import tensorflow as tf

from attention_suite.apps.qa import features, synthetic, training
from attention_suite.apps.qa.data import parse_squad

VOCABULARY = features.RESERVED_TOKENS + [
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "where",
    "did",
    "?",
    ".",
    "##s",
    "a",
    "dog",
    "😀",
    "born",
    "in",
    "##ton",
    "paris",
]


def _settings(layout="pair", window=6, stride=3, question=4):
    return types.SimpleNamespace(
        layout=layout,
        window=window,
        stride=stride,
        max_question_length=question,
        max_context_tokens=1000,
    )


def _encode(contexts, questions, settings, tokenizer=None):
    tokenizer = tokenizer or features.QATokenizer(VOCABULARY)
    repaired = features.repair_utf8(tf.constant(contexts))
    return (
        tokenizer,
        repaired,
        features.encode(
            tokenizer,
            repaired,
            features.repair_utf8(tf.constant(questions)),
            settings,
        ),
    )


def test_tokenizer_needs_its_special_tokens():
    with pytest.raises(ValueError, match=r"\[SEP\]"):
        features.QATokenizer(["[PAD]", "[UNK]", "[CLS]", "cat"])


def test_windows_overlap_by_the_stride_and_cover_the_context():
    context = "the cat sat on the mat . a dog sat on a cat ."  # 14 pieces
    _, _, found = _encode(
        [context, ""], ["where did the cat sit ?", "where"], _settings()
    )
    # 1 + ceil((14 - 6) / 3) = 4 windows, and one (empty) for the empty context.
    assert found["example"].numpy().tolist() == [0, 0, 0, 0, 1]
    ids = found["context_ids"].numpy()
    np.testing.assert_array_equal(ids[1, :3], ids[0, 3:])
    starts = found["token_starts"].numpy()
    # The last window holds pieces 9..13, then padding.
    assert starts[3, 4] == context.rindex(".") and starts[3, 5] == -1
    assert (starts[4] == -1).all()
    # The question is cut to 4 pieces and repeated in every window.
    questions = found["question_ids"].numpy()
    assert questions.shape == (5, 4) and (questions[:4] == questions[0]).all()


def test_packed_layout_marks_segments_and_context_positions():
    _, _, found = _encode(
        ["the cat sat on the mat"],
        ["where did the cat sit ?"],
        _settings("packed"),
    )
    token_ids = found["token_ids"].numpy()[0]
    # [CLS] where did the cat [SEP] the cat sat on the mat [SEP]
    assert token_ids[0] == 2 and token_ids[5] == 3 and token_ids[12] == 3
    assert found["segment_ids"].numpy()[0].tolist() == [0] * 6 + [1] * 7
    starts = found["token_starts"].numpy()[0]
    assert (starts[:6] == -1).all() and starts[12] == -1
    assert starts[6:12].tolist() == [0, 4, 8, 12, 15, 19]
    assert found["padding_mask"].numpy()[0].all()


@pytest.mark.parametrize("layout", ["pair", "packed"])
def test_every_answer_occurrence_maps_back_to_its_characters(layout):
    document = synthetic.demo_document(articles=3)
    examples, _ = parse_squad(document)
    contexts = [e.context for e in examples]
    tokenizer = features.QATokenizer(features.learn_vocabulary(contexts, 300))
    settings = _settings(layout, window=16, stride=8, question=12)
    _, repaired, found = _encode(
        contexts, [e.question for e in examples], settings, tokenizer
    )
    starts, ends = zip(*(training.answer_byte_spans(e) for e in examples))
    labels = features.span_labels(
        found, np.stack(starts), np.stack(ends)
    ).numpy()
    token_starts, token_ends = (
        found["token_starts"].numpy(),
        found["token_ends"].numpy(),
    )
    window_of = found["example"].numpy()
    answered = set()
    for n, spans in enumerate(labels):
        context = contexts[window_of[n]].encode("utf-8")
        for first, last in spans:
            if first < 0:
                continue
            text = context[token_starts[n, first] : token_ends[n, last]].decode(
                "utf-8"
            )
            assert text == examples[window_of[n]].answers[0][0]
            answered.add(window_of[n])
    # Every answer is shorter than the window overlap: some window holds it.
    assert answered == set(range(len(examples)))
    assert len(window_of) > len(examples)  # contexts were split


def test_an_answer_occurring_twice_gets_both_spans():
    context = "the cat sat on the mat ."
    _, _, found = _encode([context], ["where ?"], _settings(window=8))
    the = [i for i in range(len(context)) if context.startswith("the", i)]
    labels = features.span_labels(
        found,
        np.array([[the[0], the[1], -1]]),
        np.array([[the[0] + 3, the[1] + 3, -1]]),
    ).numpy()
    assert labels[0].tolist() == [[0, 0], [4, 4], [-1, -1]]


def _decode(found, logits, count, max_answer_tokens=3):
    starts, ends, scores = features.best_spans(
        tf.constant(logits, tf.float32), found, count, max_answer_tokens
    )
    return starts.numpy(), ends.numpy(), scores.numpy()


def test_best_span_keeps_order_length_and_words_and_picks_the_best_window():
    context = "the cats sat on the mat ."  # the cat ##s sat on the mat .
    _, repaired, found = _encode(
        [context], ["where ?"], _settings(window=5, stride=3)
    )
    assert found["example"].numpy().tolist() == [0, 0]
    logits = np.zeros((2, 2, 5))
    # Window 0: the best start is "##s" (inside a word) and the best end comes
    # before the best start; window 1 ("sat on the mat ."): a clear "the mat".
    logits[0, 0, 2], logits[0, 1, 0] = 9.0, 9.0
    logits[1, 0, 2], logits[1, 1, 3] = 6.0, 6.0
    starts, ends, scores = _decode(found, logits, 1)
    answer, char_start, char_end = features.answers(repaired, starts, ends)
    assert answer.numpy()[0].decode() == "the mat"
    assert context[char_start.numpy()[0] : char_end.numpy()[0]] == "the mat"
    assert 0.5 < scores[0] <= 1.0
    # At most 3 pieces: a start at "the" cannot reach past "cat ##s sat".
    logits = np.zeros((2, 2, 5))
    logits[:, 0, 0], logits[:, 1, 4] = 9.0, 9.0
    starts, ends, _ = _decode(found, logits, 1)
    assert ends[0] - starts[0] <= len("the cats sat")


def test_windows_compete_by_logits_or_by_probability():
    context = "the cats sat on the mat ."  # the cat ##s sat on the mat .
    _, repaired, found = _encode(
        [context], ["where ?"], _settings(window=5, stride=3)
    )
    # Window 0 ("the cat ##s sat on"): high logits everywhere, so "the" is
    # only a little more likely than the rest; window 1 ("sat on the mat
    # ."): low logits, but "the mat" is almost certain within the window.
    logits = np.full((2, 2, 5), 4.5)
    logits[0, :, 0] = 5.0
    logits[1] = -10.0
    logits[1, 0, 2], logits[1, 1, 3] = 2.0, 2.0
    answers = {}
    for compare in ("probability", "logit"):
        starts, ends, scores = features.best_spans(
            tf.constant(logits, tf.float32), found, 1, 3, compare
        )
        answer, _, _ = features.answers(repaired, starts, ends)
        answers[compare] = (answer.numpy()[0].decode(), float(scores[0]))
    assert answers["probability"][0] == "the mat"
    assert answers["probability"][1] > 0.99
    # By logits, window 0's "the" (5 + 5) beats "the mat" (2 + 2); its
    # score is still its probability within window 0.
    assert answers["logit"][0] == "the"
    assert answers["logit"][1] < 0.2
    with pytest.raises(ValueError, match="compare must be one of"):
        features.best_spans(tf.constant(logits, tf.float32), found, 1, 3, "sum")


def test_row_lengths_and_trim_cut_only_trailing_padding():
    _, _, found = _encode(
        ["the cat sat on the mat", "the cat"],
        ["where ?", "where did the cat sit ?"],
        _settings("packed", window=8, question=4),
    )
    inputs = {name: found[name].numpy() for name in features.INPUTS["packed"]}
    # [CLS] where ? [SEP] + 6 pieces [SEP] = 11; [CLS] 4 pieces [SEP] + 2 [SEP]
    # = 9.
    assert features.row_lengths(inputs, "packed", 0).tolist() == [11, 9]
    cut = features.trim(dict(inputs, example=found["example"]), "packed", 11)
    assert all(cut[name].shape == (2, 11) for name in features.INPUTS["packed"])
    assert cut["example"].shape == (2,)
    np.testing.assert_array_equal(cut["token_ids"], inputs["token_ids"][:, :11])
    assert not inputs["padding_mask"][:, 11:].any()
    assert features.bucket_widths([11, 33], 48, "packed").tolist() == [32, 48]
    # BiDAF's windows are never cut (see `features.CUT_LAYOUTS`).
    assert features.bucket_widths([11, 33], 48, "pair").tolist() == [48, 48]


def test_training_batches_group_windows_by_length():
    examples, _ = parse_squad(synthetic.demo_document(articles=3))
    tokenizer = features.QATokenizer(
        features.learn_vocabulary([e.context for e in examples], 300)
    )
    config = types.SimpleNamespace(
        layout="packed",
        window=64,
        stride=32,
        max_question_length=12,
        max_context_tokens=1000,
        batch_size=4,
    )
    inputs, labels = training.training_arrays(tokenizer, examples, config)
    full = inputs["token_ids"].shape[1]
    lengths = features.row_lengths(inputs, "packed", tokenizer.pad_id)
    batches = list(training.dataset(inputs, labels, config, tokenizer.pad_id))
    seen = []
    for batch_inputs, batch_labels in batches:
        ids = batch_inputs["token_ids"].numpy()
        width = ids.shape[1]
        assert width % features.LENGTH_STEP == 0 or width == full
        assert all(
            batch_inputs[n].shape[1] == width for n in features.INPUTS["packed"]
        )
        assert (batch_labels.numpy() < width).all()
        for row in ids:
            # Each window is whole: every piece it had is there.
            match = [
                n
                for n in range(len(labels))
                if np.array_equal(inputs["token_ids"][n, :width], row)
                and lengths[n] <= width
            ]
            assert match
            seen.append(match[0])
    assert (
        len(batches)
        == training.dataset(inputs, labels, config, tokenizer.pad_id)
        .cardinality()
        .numpy()
    )
    assert len(seen) == len(labels)
    assert len({b[0]["token_ids"].shape[1] for b in batches}) > 1


def test_empty_context_gets_the_empty_answer_with_score_zero():
    _, repaired, found = _encode(
        ["", "the cat"], ["where ?", "where ?"], _settings()
    )
    starts, ends, scores = _decode(found, np.zeros((2, 2, 6)), 2)
    answer, start, end = features.answers(repaired, starts, ends)
    assert answer.numpy()[0] == b"" and scores[0] == 0.0
    assert (start.numpy()[0], end.numpy()[0]) == (0, 0)
    assert scores[1] > 0.0


def test_character_offsets_count_emoji_and_repaired_bytes_as_python_does():
    contexts = [
        "😀 the cat sat".encode("utf-8"),
        b"the \xff\xfe cat sat",  # not UTF-8: each bad byte becomes U+FFFD
    ]
    tokenizer, repaired, found = _encode(
        contexts, ["where ?"] * 2, _settings(window=8)
    )
    texts = [c.decode("utf-8", "replace") for c in contexts]
    assert [r.decode() for r in repaired.numpy()] == texts
    cat = [
        found["token_starts"]
        .numpy()[n]
        .tolist()
        .index(repaired.numpy()[n].index(b"cat"))
        for n in range(2)
    ]
    logits = np.full((2, 2, 8), -5.0)
    for n, position in enumerate(cat):
        logits[n, :, position] = 5.0
    starts, ends, _ = _decode(found, logits, 2)
    answer, start, end = features.answers(repaired, starts, ends)
    for n, text in enumerate(texts):
        assert answer.numpy()[n].decode() == "cat"
        assert text[start.numpy()[n] : end.numpy()[n]] == "cat"


def test_encoding_runs_inside_a_graph():
    tokenizer = features.QATokenizer(VOCABULARY)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def encode(contexts, questions):
        return features.encode(
            tokenizer, contexts, questions, _settings("packed")
        )

    found = encode(
        tf.constant(["the cat sat on the mat ."]), tf.constant(["where ?"])
    )
    assert found["token_ids"].shape[1] == 4 + 6 + 3
