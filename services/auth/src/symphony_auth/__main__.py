"""`python -m symphony_auth serve|migrate`."""

import sys

from symphony_auth.bootstrap import DEFINITION
from symphony_common.service import main


def run() -> None:
    sys.exit(main(DEFINITION))


if __name__ == "__main__":
    run()
