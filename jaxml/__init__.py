"""jaxml: a functional JAX/Flax research codebase.

Subpackages (imported on demand; importing jaxml has no side effects and loads no JAX):
  jaxml.data     datasets as numpy arrays, splits, transforms
  jaxml.models   pure Flax Linen modules
  jaxml.report   metric logs, plots, tables, progress lines
  jaxml.train    the core: one driver (fit) for any pure step and batch source, runs, optimizers,
                 checkpoints, parallelism
  jaxml.recipes  model-family steps for the driver: VAE, GAN, language models
  jaxml.evaluate measuring trained models: sample quality, probes, classification reports
  jaxml.study    what every study script shares: configs, work directories, parts, results files
  jaxml.rl       environments, replay buffer, DQN, policy gradient
  jaxml.classic  perceptrons, k-means, spectral clustering, AdaBoost, SVM

On a CPU, ``jaxml.cpu_memory.keep_freed_memory_on_cpu()`` (called by the study runner, the
benchmarks and the test suite; call it in your own scripts) tells glibc's malloc to keep freed
memory, so XLA:CPU reuses its buffers instead of page-faulting fresh ones on every call;
``JAXML_KEEP_FREED_MEMORY=0`` opts out.
"""

__version__ = "0.1.0"
