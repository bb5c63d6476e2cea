"""Start the grid-governance workstation: ``python main.py [--db URL] [--lang en] [--demo] [COMMAND ...]``.

The same program as the installed ``workstation`` command and ``python -m workstation``.
"""

from workstation.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
