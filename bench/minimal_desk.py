"""`handoff-desk` with the minimal executor in the lean one's place (bench/queue_read.py's
`--executor minimal`): a basic leaf field read directly, everything else graphql-core's."""

import sys

import schema.execution as execution

execution.DeskExecutionContext = execution.MinimalExecutionContext

from handoff_desk.cli import main  # noqa: E402  (after the swap: it builds the schema)

if __name__ == "__main__":
    sys.exit(main())
