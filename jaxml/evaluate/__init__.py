"""Measuring trained models.

- ``jaxml.evaluate.quality`` — Fréchet distance between feature sets, class histograms.
- ``jaxml.evaluate.feature_classifier`` — a classifier trained once (cached) and used as a feature
  extractor for sample quality (``QualityMeter``).
- ``jaxml.evaluate.probes`` — functions of a train state recorded after every epoch (dead ReLUs).
- ``jaxml.evaluate.classify`` — predictions, confusion matrices, per-class accuracy.
"""
