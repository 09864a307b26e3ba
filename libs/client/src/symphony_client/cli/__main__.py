import sys

from symphony_client.cli import main

sys.exit(main())
