"""Translation parts that do not depend on the backend: search algorithms,
BLEU wiring, corpora, tokenizer, the dataset download, and a real-data run."""

import gzip
import http.server
import os
import shutil
import threading
import time

import numpy as np
import pytest
from helpers import real_data_dir, served_directory
from keras import ops

from attention_suite.apps.cli import main
from attention_suite.apps.common.data import datasets, tokenizers
from attention_suite.apps.common.generation import decoding
from attention_suite.apps.translation import data, evaluation
from attention_suite.apps.translation.synthetic import (
    demo_pairs,
    write_demo_tsv,
)

# A toy language model over ids {0: pad, 1: start, 2: end, 3, 4}: the next
# token depends only on the previous one. Greedy takes 3 (p=0.6) and then
# wanders; beam search finds "4 end" (p=0.4*0.99) over "3 end" (p=0.6*0.3).
TRANSITIONS = np.log(
    np.array(
        [
            [1e-9, 1e-9, 1.0, 1e-9, 1e-9],
            [1e-9, 1e-9, 1e-9, 0.6, 0.4],
            [1.0, 1e-9, 1e-9, 1e-9, 1e-9],
            [1e-9, 1e-9, 0.3, 0.35, 0.35],
            [1e-9, 1e-9, 0.99, 0.005, 0.005],
        ],
        dtype="float32",
    )
)


def toy_step(tokens, index, state):
    logits = ops.take(ops.convert_to_tensor(TRANSITIONS), tokens, axis=0)
    return logits, {"steps": state["steps"] + 1}


def toy_search(beam_size, batch=2, max_length=6, length_penalty=0.0):
    state = {"steps": ops.zeros((batch, 1), "int32")}
    if beam_size == 1:
        ids = decoding.greedy_search(toy_step, state, batch, max_length, 1, 2)
        return ops.convert_to_numpy(ids), None
    ids, scores = decoding.beam_search(
        toy_step,
        state,
        batch,
        max_length,
        1,
        2,
        beam_size=beam_size,
        length_penalty=length_penalty,
    )
    return ops.convert_to_numpy(ids), ops.convert_to_numpy(scores)


def test_beam_search_finds_what_greedy_misses():
    greedy, _ = toy_search(1)
    assert greedy[0, 0] == 3 and greedy[0, 1] != 2
    beam, scores = toy_search(2)
    np.testing.assert_array_equal(beam, [[4, 2, 0, 0, 0, 0]] * 2)
    np.testing.assert_allclose(scores, np.log(0.4 * 0.99), rtol=1e-5)


def test_beam_of_one_is_greedy_and_pads_after_the_end():
    beam, _ = toy_search(1, max_length=8)
    greedy = decoding.greedy_search(
        toy_step, {"steps": ops.zeros((2, 1), "int32")}, 2, 8, 1, 2
    )
    single, _ = decoding.beam_search(
        toy_step, {"steps": ops.zeros((2, 1), "int32")}, 2, 8, 1, 2, beam_size=1
    )
    np.testing.assert_array_equal(ops.convert_to_numpy(single), beam)
    np.testing.assert_array_equal(ops.convert_to_numpy(greedy), beam)
    for row in beam:
        ended = list(row).index(2) if 2 in row else len(row)
        assert (row[ended + 1 :] == 0).all()


def test_length_normalization_is_gnmt():
    scores = ops.convert_to_tensor([-3.0, -3.0])
    normalized = ops.convert_to_numpy(
        decoding.length_normalized(scores, ops.convert_to_tensor([1, 11]), 1.0)
    )
    np.testing.assert_allclose(normalized, [-3.0, -3.0 / (16 / 6)], rtol=1e-6)


def test_bleu_wiring_on_known_cases():
    same = evaluation.score(
        ["The cat sat on the mat."], ["The cat sat on the mat."]
    )
    assert same["bleu"] == 100.0 and same["chrf"] == 100.0
    signatures = same["signatures"]
    assert "13a" in signatures["bleu"] and "case:mixed" in signatures["bleu"]
    assert "tok:none" in signatures["bleu_moses"]
    assert "moses:en" in signatures["bleu_moses"]
    assert "case:lc" in signatures["bleu_lowercase"]
    cased = evaluation.score(
        ["THE CAT SAT ON THE MAT."], ["The cat sat on the mat."]
    )
    assert cased["bleu"] < 10.0 and cased["bleu_lowercase"] == 100.0
    # Every word right, no n-gram longer than one: only smoothing keeps it > 0.
    shuffled = evaluation.score(
        ["mat the on sat cat The ."], ["The cat sat on the mat."]
    )
    assert 0.0 < shuffled["bleu"] < 15.0 and shuffled["chrf"] < 100.0
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        evaluation.score(["a", "b"], ["a"])


def test_moses_bleu_scores_lowercased_moses_tokens():
    # Moses splits the apostrophe off where 13a does not: the two tokenized
    # BLEUs differ on the same text.
    assert evaluation.moses_tokenized(["Geht's gut?"], "de") == [
        "geht ' s gut ?"
    ]
    scores = evaluation.score(
        ["Ein Hund läuft's am Strand."],
        ["ein Hund läuft's am Strand."],
        language="de",
    )
    assert scores["bleu_moses"] == 100.0 and scores["bleu"] < 100.0


def test_moses_bleu_does_not_warn_about_its_own_tokens(caplog):
    # sacreBLEU warns when 100 lines end in a tokenized period.
    sentences = ["Ein Hund läuft am Strand."] * 100
    evaluation.score(sentences, sentences, language="de")
    assert "detokenize" not in caplog.text


def test_tsv_corpus_split_and_errors(tmp_path):
    path = write_demo_tsv(str(tmp_path / "pairs.tsv"))
    corpus = data.read_tsv(path)
    sizes = {name: len(part[0]) for name, part in corpus.items()}
    assert sizes == {"val": 22, "test": 22, "train": 406}
    assert corpus == data.read_tsv(path)
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: expected source<TAB>target"):
        data.read_tsv(str(bad))
    bad.write_text("a\tb\n" * 5, encoding="utf-8")
    with pytest.raises(ValueError, match="too few"):
        data.read_tsv(str(bad))
    bad.write_bytes(b"caf\xe9\tx\n")
    with pytest.raises(ValueError, match="not readable UTF-8"):
        data.read_tsv(str(bad))


def test_tokenizer_round_trip():
    import tensorflow as tf

    english = [en for en, _ in demo_pairs()]
    german = [de for _, de in demo_pairs()]
    tokenizer = tokenizers.load_tokenizer(
        tokenizers.train_tokenizer(english + german, 150)
    )
    sentences = [
        "Heute läuft ein Hund am Strand.",
        "A child waits near the water.",
    ]
    ids = tf.function(lambda t: tokenizer.tokenize(t))(tf.constant(sentences))
    back = tf.function(lambda i: tokenizer.detokenize(i))(ids)
    assert [b.decode() for b in back.numpy()] == sentences
    assert tokenizer.token_to_id("<pad>") == tokenizers.PAD_ID
    assert tokenizer.token_to_id("</s>") == tokenizers.EOS_ID


def test_unknown_languages_and_models_are_clear_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="Unknown language 'xx'"):
        data.check_pair("en", "xx")
    tsv = write_demo_tsv(str(tmp_path / "pairs.tsv"))
    code = main(
        [
            "translate",
            "train",
            "--data",
            tsv,
            "--out",
            str(tmp_path / "r"),
            "--set",
            "model=lstm",
        ]
    )
    assert code == 1
    assert (
        "Invalid setting model=lstm: expected one of transformer, "
        "gru_attention." in capsys.readouterr().err
    )


@pytest.fixture
def mirror(tmp_path):
    """Serves a copy of the Multi30k files on 127.0.0.1."""
    source = real_data_dir() / datasets.REGISTRY["multi30k"].subdir
    served = tmp_path / "served"
    shutil.copytree(source, served)
    with served_directory(served) as url:
        yield served, url


def test_fetch_downloads_and_checks_sums(mirror, tmp_path, capsys):
    served, url = mirror
    data_dir = tmp_path / "data"
    assert (
        main(
            [
                "data",
                "fetch",
                "multi30k",
                "--data-dir",
                str(data_dir),
                "--mirror",
                url,
            ]
        )
        == 0
    )
    directory = data_dir / "translation" / "multi30k"
    assert sorted(os.listdir(directory)) == sorted(
        [datasets.RECORD, *datasets.REGISTRY["multi30k"].files]
    )
    corpus = data.read_multi30k(str(directory), "en", "fr")
    # One training pair repeats a validation source and is dropped.
    assert [len(corpus[s][0]) for s in ("train", "val", "test")] == [
        29000 - 1,
        1014,
        1000,
    ]
    # A corrupt file on the server is refused, and nothing half-written stays.
    os.remove(directory / "val.de.gz")
    with gzip.open(served / "val.de.gz", "wt") as f:
        f.write("tampered\n")
    capsys.readouterr()
    assert (
        main(
            [
                "data",
                "fetch",
                "multi30k",
                "--data-dir",
                str(data_dir),
                "--mirror",
                url,
            ]
        )
        == 1
    )
    assert "Checksum mismatch" in capsys.readouterr().err
    assert not (directory / "val.de.gz").exists()
    assert not [n for n in os.listdir(directory) if n.startswith(".")]


def test_a_changed_fetched_file_is_refused_when_read(mirror, tmp_path, capsys):
    served, url = mirror
    data_dir = tmp_path / "data"
    fetch = ["data", "fetch", "multi30k", "--data-dir", str(data_dir)]
    assert main([*fetch, "--mirror", url]) == 0
    directory = data_dir / "translation" / "multi30k"
    # Another valid gzip file in place of a fetched one.
    with gzip.open(directory / "val.fr.gz", "wt") as f:
        f.write("Un chat.\n")
    run_dir = tmp_path / "run"
    train = ["translate", "train", "--data", "multi30k", "--out", str(run_dir)]
    capsys.readouterr()
    assert main([*train, "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "val.fr.gz is not the file `attn data fetch` checked" in err
    assert "`attn data fetch multi30k --force`" in err
    assert not run_dir.exists()
    # A fetch that fails leaves no wrong file in place.
    os.remove(served / "val.fr.gz")
    assert main([*fetch, "--mirror", url]) == 1
    assert not (directory / "val.fr.gz").exists()


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Answers with a line that is not HTTP, or trickles its headers."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            if self.path.startswith("/not-http/"):
                self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
                return
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(60):
                self.wfile.write(b"X-Slow: 1\r\n")
                self.wfile.flush()
                time.sleep(1)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.mark.parametrize("behaviour", ["not-http", "slow-headers"])
def test_a_hostile_mirror_is_one_line_and_leaves_nothing(
    behaviour, tmp_path, capsys
):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{behaviour}/"
    data_dir = tmp_path / "data"
    capsys.readouterr()
    start = time.monotonic()
    code = main(
        ["data", "fetch", "pems08", "--data-dir", str(data_dir)]
        + ["--mirror", url, "--timeout", "2"]
    )
    server.shutdown()
    assert code == 1 and time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Could not download" in err
    directory = data_dir / "traffic" / "pems08"
    assert [n for n in os.listdir(directory) if n != datasets.RECORD] == []


def test_real_multi30k_slice_trains_and_translates(tmp_path, capsys):
    data_dir = real_data_dir()
    run_dir = str(tmp_path / "run")
    args = ["translate", "train", "--data-dir", str(data_dir), "--out", run_dir]
    for setting in (
        "train_limit=256",
        "vocabulary_size=400",
        "embedding_dim=32",
        "num_layers=1",
        "num_heads=2",
        "intermediate_dim=64",
        "epochs=1",
        "max_length=32",
        "source=fr",
    ):
        args += ["--set", setting]
    assert main(args) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "translate",
                "predict",
                "--run",
                run_dir,
                "--beam-size",
                "2",
                "Un chien court.",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_a_tsv_run_has_unknown_languages(tmp_path):
    from attention_suite.apps.translation.config import TranslationConfig

    path = write_demo_tsv(str(tmp_path / "pairs.tsv"))
    config = TranslationConfig()
    config.resolve_languages(path)
    assert (config.source, config.target) == ("und", "und")
    config = TranslationConfig(target="fr")
    config.resolve_languages(path)
    assert (config.source, config.target) == ("und", "fr")
    config = TranslationConfig()
    config.resolve_languages("multi30k")
    assert (config.source, config.target) == ("en", "de")
    scores = evaluation.score(["Ein Hund."], ["Ein Hund."], "und")
    assert "bleu_moses" not in scores and scores["chrf"] == 100.0
    report = {"split": "test", "sentences": 1, "greedy": scores}
    table = evaluation.format_report(report)
    assert "Moses" not in table.splitlines()[2]
    assert "the target language is not known" in table
