"""``python -m workstation``: the command line, or the window when no command is given."""

from workstation.cli import main

raise SystemExit(main())
