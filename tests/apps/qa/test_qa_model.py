"""The span readers and their loss on the current backend: the loss sums
over answer occurrences, padding changes nothing, masked positions get no
probability, and both readers survive a `.keras` round trip."""

import keras
import keras_hub
import numpy as np
import pytest
from helpers import to_numpy

from attention_suite.apps.qa.config import QAConfig
from attention_suite.apps.qa.model import (
    BiDAF,
    EncoderReader,
    SpanLoss,
    build_model,
    freeze_lower_layers,
)


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_span_loss_sums_the_probability_of_every_occurrence():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 2, 6)).astype("float32")
    labels = np.array([[[1, 2], [4, 4]], [[0, 3], [-1, -1]]])
    start, end = _log_softmax(logits[:, 0]), _log_softmax(logits[:, 1])
    expected = np.mean(
        [
            -np.log(
                np.exp(start[0, 1] + end[0, 2])
                + np.exp(start[0, 4] + end[0, 4])
            ),
            -(start[1, 0] + end[1, 3]),
        ]
    )
    loss = SpanLoss()(labels, logits)
    np.testing.assert_allclose(float(to_numpy(loss)), expected, rtol=1e-5)


def _bidaf():
    keras.utils.set_random_seed(0)
    model = BiDAF(50, embedding_dim=8, units=8, modeling_layers=2, dropout=0.0)
    model.build()
    return model


def _pretrained_bidaf():
    keras.utils.set_random_seed(0)
    model = BiDAF(
        50,
        embedding_dim=8,
        units=8,
        modeling_layers=1,
        dropout=0.0,
        pretrained_dim=6,
    )
    model.build()
    model.set_pretrained_embeddings(
        np.random.default_rng(2).normal(size=(50, 6)).astype("float32")
    )
    return model


def _inputs():
    rng = np.random.default_rng(1)
    context = rng.integers(5, 50, (2, 9)).astype("int32")
    question = rng.integers(5, 50, (2, 4)).astype("int32")
    context[1, 6:] = 0
    question[1, 3:] = 0
    return {"context_ids": context, "question_ids": question}


def test_bidaf_masks_padding_and_ignores_extra_padding():
    model, inputs = _bidaf(), _inputs()
    logits = to_numpy(model(inputs))
    assert logits.shape == (2, 2, 9)
    assert (logits[1, :, 6:] <= -1e8).all() and (logits[:, :, :6] > -1e8).all()
    padded = {
        "context_ids": np.pad(inputs["context_ids"], ((0, 0), (0, 3))),
        "question_ids": np.pad(inputs["question_ids"], ((0, 0), (0, 2))),
    }
    np.testing.assert_allclose(
        to_numpy(model(padded))[:, :, :9], logits, rtol=1e-4, atol=1e-4
    )


def test_bidaf_context_to_query_attention_skips_question_padding():
    model, inputs = _bidaf(), _inputs()
    _, weights = model(inputs, return_attention_scores=True)
    weights = to_numpy(weights)
    assert weights.shape == (2, 9, 4)
    np.testing.assert_allclose(weights[:, :6].sum(-1), 1.0, atol=1e-5)
    assert (weights[1, :, 3:] == 0).all()


def test_pretrained_embeddings_stay_frozen_while_the_rest_trains():
    model, inputs = _pretrained_bidaf(), _inputs()
    embeddings = to_numpy(model.embedding.embeddings).copy()
    projection = to_numpy(model.projection.kernel).copy()
    trainable = [w.path for w in model.trainable_weights]
    assert model.embedding.embeddings.path not in trainable
    assert model.projection.kernel.path in trainable
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=SpanLoss())
    labels = np.array([[[1, 2]], [[0, 3]]])
    model.train_on_batch(inputs, labels)
    np.testing.assert_array_equal(
        to_numpy(model.embedding.embeddings), embeddings
    )
    assert not np.allclose(to_numpy(model.projection.kernel), projection)


def test_pretrained_embeddings_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"expected \(50, 6\)"):
        _pretrained_bidaf().set_pretrained_embeddings(np.zeros((40, 6)))
    with pytest.raises(ValueError, match="do not fit"):
        _bidaf().set_pretrained_embeddings(np.zeros((50, 8)))


def test_build_model_copies_the_token_embeddings_of_a_local_preset(tmp_path):
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=50,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
    )
    backbone.save_to_preset(str(tmp_path))
    config = QAConfig(
        embeddings="pretrained",
        preset=str(tmp_path),
        embedding_dim=8,
        units=8,
        modeling_layers=1,
    )
    model = build_model(config, 50)
    np.testing.assert_allclose(
        to_numpy(model.embedding.embeddings),
        to_numpy(backbone.token_embedding.embeddings),
    )
    assert to_numpy(model(_inputs())).shape == (2, 2, 9)


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"embeddings": "glove"},
            "embeddings=glove: expected one of learned, pretrained",
        ),
        ({"model": "gpt"}, "model=gpt: expected one of bidaf, encoder"),
        ({"frozen_layers": -1}, "frozen_layers=-1: expected an integer >= 0"),
        (
            {"frozen_layers": 2},
            r"frozen_layers=2: expected 0 with model=bidaf \(only the encoder",
        ),
        (
            {"compare_windows": "max"},
            "compare_windows=max: expected one of probability, logit",
        ),
        ({"stride": 200}, r"stride=200: expected at most window=192"),
    ],
)
def test_config_names_a_bad_setting(settings, message):
    with pytest.raises(ValueError, match=message):
        QAConfig(**settings)


def test_freeze_lower_layers_freezes_embeddings_then_layers_bottom_up():
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=50,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
    )
    freeze_lower_layers(backbone, 2)
    assert not backbone.token_embedding.trainable
    assert not backbone.transformer_layers[0].trainable
    assert backbone.transformer_layers[1].trainable
    with pytest.raises(ValueError, match="only 3 parts"):
        freeze_lower_layers(backbone, 4)


def _encoder(frozen_layers=0):
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=50,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
    )
    model = EncoderReader(backbone, dropout=0.0, frozen_layers=frozen_layers)
    model.build()
    return model


def _packed():
    token_ids = np.array(
        [[2, 7, 3, 9, 11, 3, 0, 0], [2, 8, 8, 3, 12, 13, 14, 3]]
    )
    return {
        "token_ids": token_ids,
        "segment_ids": np.array(
            [[0, 0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
        ),
        "padding_mask": token_ids != 0,
    }


def test_encoder_reader_gives_start_and_end_logits_over_real_positions():
    model = _encoder()
    assert model.count_params() == model.backbone.count_params() + 16 * 2 + 2
    logits = to_numpy(model(_packed()))
    assert logits.shape == (2, 2, 8)
    assert (logits[0, :, 6:] <= -1e8).all() and (logits[1] > -1e8).all()


@pytest.mark.parametrize(
    "build, inputs",
    [(_bidaf, _inputs), (_pretrained_bidaf, _inputs), (_encoder, _packed)],
)
def test_keras_file_round_trip(build, inputs, tmp_path):
    model = build()
    expected = to_numpy(model(inputs()))
    path = tmp_path / "reader.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        to_numpy(restored(inputs())), expected, atol=1e-5
    )


def test_a_reloaded_encoder_reader_keeps_its_frozen_layers(tmp_path):
    model = _encoder(frozen_layers=2)
    path = tmp_path / "reader.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.frozen_layers == 2
    trainable = [
        layer.trainable for layer in restored.backbone.transformer_layers
    ]
    assert trainable == [False, True]
    assert not restored.backbone.token_embedding.trainable
    assert len(restored.trainable_weights) == len(model.trainable_weights)
    assert len(restored.trainable_weights) < len(_encoder().trainable_weights)
