import sys

from catdogkit.cli import main

sys.exit(main())
