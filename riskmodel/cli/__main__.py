"""``python -m riskmodel.cli``: the ``riskmodel`` command."""

from riskmodel.cli import main

raise SystemExit(main())
