"""`handoff-desk` with another execution context of schema/execution.py in the lean one's place,
named by BENCH_EXECUTOR_CLASS (bench/queue_read.py's `--executor minimal|builders`)."""

import os
import sys

import schema.execution as execution

execution.DeskExecutionContext = getattr(execution, os.environ["BENCH_EXECUTOR_CLASS"])

from handoff_desk.cli import main  # noqa: E402  (after the swap: it builds the schema)

if __name__ == "__main__":
    sys.exit(main())
