#!/usr/bin/env bash
# Runs the test suite: the layer tests (with the layers' docstring examples,
# tests/layers/test_docstring_examples.py), the apps' end-to-end tests and
# the data-parallel and mixed-precision runs once per Keras backend, each
# backend in its own process; the TensorFlow run also takes the remaining
# app, command-line and notebook tests. Each run spreads its test files over
# ATTN_TEST_WORKERS processes (default 2; 0 runs them in this process), the
# longest files first (tests/conftest.py). Exits non-zero if any run fails.
# Extra arguments go to every pytest run (e.g. `-x`, `-k mha`).
set -u
cd "$(dirname "$0")/.."
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2
# A test file's module fixtures (a trained run) stay in one process.
workers=${ATTN_TEST_WORKERS:-2}
parallel=(-n "$workers" --dist loadfile --no-loadscope-reorder)
# Torch runs each op on every core (OpenMP): test processes sharing the
# cores then fight over them, and the torch pass ran 1.6 times slower. One
# thread per process when there are several (TensorFlow and JAX measured
# the same either way).
if [ "$workers" -gt 1 ]; then
    export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
fi
per_backend=(tests/layers tests/apps/traffic/test_end_to_end.py
    tests/apps/translation/test_translation_end_to_end.py
    tests/apps/summarization/test_summarization_model.py
    tests/apps/summarization/test_summarization_end_to_end.py
    tests/apps/qa/test_qa_model.py tests/apps/qa/test_qa_end_to_end.py
    tests/apps/test_data_parallel.py
    tests/apps/test_data_parallel_text.py
    tests/apps/test_mixed_precision.py)
# XLA compiles each JAX function with LLVM's cheapest code generation: the
# tests time nothing, and the JAX pass ran 17 % faster (the same HLO
# optimisations run, so the computed functions do not change).
xla_fast_compile="--xla_backend_optimization_level=0"
xla_fast_compile+=" --xla_llvm_disable_expensive_passes=true"
failed=()
for backend in jax torch; do
    echo "== layers and end-to-end apps on $backend =="
    XLA_FLAGS="${XLA_FLAGS:-} $xla_fast_compile" KERAS_BACKEND=$backend \
        python -m pytest -q "${parallel[@]}" "${per_backend[@]}" "$@" \
        || failed+=("$backend")
done
echo "== everything on tensorflow: layers, apps, command line, notebooks =="
KERAS_BACKEND=tensorflow python -m pytest -q "${parallel[@]}" tests "$@" \
    || failed+=("tensorflow")
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all test runs passed"
