#!/usr/bin/env bash
# The main job on a workspace, as far as the stages that have landed take it.
set -euo pipefail
WS=${1:-examples/support-bot}
MODEL=${2:-smollm2-135m-instruct}
BIN=$(cd "$(dirname "$0")/.." && pwd)/.venv/bin
cd "$WS"
echo "== posttrain on $(pwd) with $MODEL"
"$BIN/posttrain" chat --model "$MODEL" "What is the capital of France?"
