"""What every study script in ``experiments/`` shares.

- ``jaxml.study.config`` — presets, ``--config.key=value`` overrides, validation: ``check_config``
  (a study's checks in one declarative call, sub-configs included) over ``check_choice``,
  ``check_range``, ``check_subset``, all raising ``ConfigError``.
- ``jaxml.study.experiment`` — ``run_experiment`` (command line -> work directory ->
  ``main(config, workdir)``), ``run_parts`` (a study's parts -> ``results.md`` + ``summary.json``),
  machine facts recorded next to measurements, ``timed_call`` / ``compile_and_run`` (timings with
  and without compilation).
- ``jaxml.study.fit_summary`` — ``fit_summary(result, metrics)``: a ``FitResult``'s per-run curves,
  final values, epochs and seconds, ready for ``summary.json``.
- ``jaxml.study.model_spec`` — ``model.json`` beside a part's checkpoints (model family + constructor
  arguments + what the inputs are), read and written as JSON; ``jaxml.trained`` rebuilds the model from it
  and holds the commands on a finished work directory (BUILD.md, "Using a finished run").
"""
