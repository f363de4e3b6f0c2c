"""`python -m medcorpus.train ...` (for `torchrun -m medcorpus.train`)."""

from medcorpus.train.cli import main

main()
