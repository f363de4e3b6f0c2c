"""`python -m medcorpus ...`: the same command line as the `medcorpus` script."""

from medcorpus.cli.main import main

main()
