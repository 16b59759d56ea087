"""``python -m workbench.samples``: see :mod:`workbench.samples.cli`."""

from .cli import main

raise SystemExit(main())
