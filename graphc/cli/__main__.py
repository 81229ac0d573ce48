"""`python -m graphc.cli ...` runs the `graphc` command."""
import sys

from .main import main

sys.exit(main())
