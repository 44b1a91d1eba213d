"""``runstream run``: MLflow Projects (MLproject files) run under a Runstream run.

What comes from MLflow's own projects code (``mlflow.projects``, in the optional
``runstream[projects]`` extra) and what is Runstream's:

- MLflow's: the MLproject parser, entry points (and ``.py`` / ``.sh`` scripts as entry
  points), parameter defaults, ``path`` / ``uri`` checks, command templating with shell
  quoting and extra ``--key value`` arguments (``spec``); subdirectory URIs, git
  fetching at a version, zip files, git commit and repository URL (``fetch``); the
  ``python_env`` / ``conda.yaml`` readers, the environment content hash and conda
  environments (``envs``); the ``mlflow.*`` tag names (``tags``).
- Runstream's: parameter type checks before anything runs (MLflow passes ``alpha=abc``
  to a float); creating the run through Runstream's SDK (MLflow's run creation goes
  through an MLflow tracking store); virtualenv / uv environments built from an
  interpreter already on the machine, with a lock and a ready stamp (MLflow installs
  Python with pyenv, which needs a download); the child in its own process group,
  killed as a group on Ctrl-C / SIGTERM and its run ended KILLED (MLflow ends the run
  FAILED and can leave grandchildren behind); ``--detach`` with stdout / stderr logged
  as artifacts; local repositories cloned for ``--version`` instead of checking out
  in the user's working copy.

Modules: ``spec`` (MLproject), ``fetch`` (URIs), ``envs`` (env managers), ``tags``,
``runner`` (the run's contract), ``launch`` (in process or detached).
"""

from __future__ import annotations

from runstream.projects.runner import Outcome, RunRequest

__all__ = ["Outcome", "RunRequest"]
