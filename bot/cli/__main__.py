"""`python -m bot.cli …` is `safetybot …`."""

import sys

from bot.cli import main

sys.exit(main())
