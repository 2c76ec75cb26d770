import sys

from spri.cli import main

sys.exit(main())
