"""`python -m medcorpus.train ...` (for `torchrun -m medcorpus.train`)."""

from medcorpus.cli.train import main

main()
