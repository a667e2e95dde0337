"""Allow ``python -m fanout_tui``."""

import sys

from fanout_tui.cli import main

sys.exit(main())
