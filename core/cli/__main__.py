"""`python -m core.cli <command>`."""
import sys

from core.cli.main import main

sys.exit(main())
