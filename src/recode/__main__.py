"""`python -m recode` is the same as the `recode` command."""

from recode.cli import main

main()
