#!/usr/bin/env bash
# The main job on a workspace: the whole loop (`posttrain run`) with the embedded model and
# the quick (CPU) profile: data build -> SFT -> DPO -> evaluate base and candidate -> gate
# -> register and promote on PASS -> HTML report, experiment log, model card.
# Prints the time of each stage and the path of the report. Running it again resumes
# where it stopped (or does nothing but rewrite the reports when everything is done).
set -euo pipefail
WS=${1:-examples/support-bot}
MODEL=${2:-smollm2-135m-instruct}
PROFILE=${PROFILE:-quick}
BIN=$(cd "$(dirname "$0")/.." && pwd)/.venv/bin
echo "== posttrain run on $WS with $MODEL (profile $PROFILE)"
set +e
"$BIN/posttrain" run --workspace "$WS" --model "$MODEL" --profile "$PROFILE"
code=$?
set -e
# 0 PASS, 1 BLOCK, 4 INCONCLUSIVE: each is a finished loop with a report; anything else failed.
case $code in
  0|1|4) echo "== done (exit $code: 0 PASS, 1 BLOCK, 4 INCONCLUSIVE); report under $WS/reports/posttrain/" ;;
  *) echo "== posttrain run failed (exit $code)"; exit "$code" ;;
esac
