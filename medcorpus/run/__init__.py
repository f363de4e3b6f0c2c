"""Running a pipeline: config, stages, executors, the runner, and the provenance a run records."""
