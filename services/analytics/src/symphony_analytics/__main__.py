"""`python -m symphony_analytics serve|migrate`."""

import sys

from symphony_common.service import main
from symphony_analytics.bootstrap import DEFINITION


def run() -> None:
    sys.exit(main(DEFINITION))


if __name__ == "__main__":
    run()
