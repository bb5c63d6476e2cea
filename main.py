"""Start the grid-governance operator workstation: ``python main.py [--db URL] [--lang en] [--demo]``."""

from workstation.app import main

if __name__ == "__main__":
    raise SystemExit(main())
