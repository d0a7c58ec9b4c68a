"""furl's bootstrap for Python Lambda handlers: the launcher.

Usage: python3 -S bootstrap.py <handler>   (cwd = LAMBDA_TASK_ROOT)

The runtime lives in the furl_lambda_runtime package next to this file, so that Python caches
its bytecode (a script run as __main__ is compiled on every start); bytecode writing is then
turned off for the function's own modules, as on Lambda's read-only /var/task.
"""

import sys

sys.path[0] = __file__.rpartition("/")[0] or "."
sys.dont_write_bytecode = False  # cache the runtime's own bytecode even under PYTHONDONTWRITEBYTECODE
from furl_lambda_runtime import bootstrap  # noqa: E402

sys.dont_write_bytecode = True

if __name__ == "__main__":
    bootstrap.main(sys.argv)
