"""``python -m voltlane.cli``: the same as the ``voltlane`` command."""

from voltlane.cli import main

raise SystemExit(main())
