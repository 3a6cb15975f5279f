"""`make test`: run the whole suite and exit with pytest's own exit code.

A process that used a Temporal client can abort during interpreter teardown (sdk-python issue 300),
which would turn a green run into exit code 134; leaving through os._exit keeps pytest's verdict.
"""

import os
import sys

import pytest


def main() -> None:
    code = pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


if __name__ == "__main__":
    main()
