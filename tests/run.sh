#!/usr/bin/env bash
# Runs the test suite: the layer tests once per Keras backend, each backend in
# its own process, then the app, CLI and notebook tests. Exits non-zero if any
# run fails. Extra arguments go to every pytest run (e.g. `-x`, `-k mha`).
set -u
cd "$(dirname "$0")/.."
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2
failed=()
for backend in tensorflow jax torch; do
    echo "== layers on $backend =="
    KERAS_BACKEND=$backend python -m pytest -q tests/layers "$@" \
        || failed+=("layers/$backend")
done
echo "== apps, command line and notebooks =="
python -m pytest -q tests --ignore=tests/layers "$@" || failed+=("apps")
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all test runs passed"
