#!/usr/bin/env python
"""Memory, hours and money of a training run before you start it: a thin wrapper over
`posttrain estimate` (same options), kept here because the seeds name this script.

    python scripts/estimate_cost.py --model 7B --method qlora --seq-len 2048 --tokens 2e7
    python scripts/estimate_cost.py --model path/to/config.json --method full --gpus 8
"""

import sys

from posttrain.cli import main

if __name__ == "__main__":
    sys.exit(main(["estimate", *sys.argv[1:]]))
