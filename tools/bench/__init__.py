"""`make bench` (python -m tools.bench): how fast the project trains, against the plain TensorFlow tutorial loop.

For every variant of params.yaml:
- images/s of the train stage itself (ganlab.training.train on a small project of the bench's
  own) and of a reference written the way the TensorFlow DCGAN tutorial writes a step (a
  `tf.function` step over a Python loop, tf.keras losses, the same networks in Keras' own
  layers, batch and data), each in processes of its own, alternating: every epoch's time, the
  median and spread of each, and the median of the epochs' paired ratios;
- the achieved GFLOP/s (FLOPs of each model counted layer by layer) against the machine's
  nominal peak and against the rate a large float32 matrix product reaches here (how each is
  estimated is written next to it);
- the per-epoch work outside train steps (FID, BatchNorm calibration and grid, checkpoint,
  MLflow logging) timed directly, and the rate the input pipeline delivers on its own;
- the execution settings (precision, XLA, strategy) the train stage uses here.
Then, from the last `dvc repro`'s stage timings (.ganlab/stage_times.jsonl) and summaries: the
share of its wall time outside train steps; and the time of a no-op `dvc repro`.
Writes reports/bench.json and prints a table. Modules: reference (the tutorial loops, keyed by
family), flops (FLOP counts and the machine's peak), timing (one variant timed), worker (one timed
process), pipeline (the last `dvc repro`), ideas (the speed-ups tried, A/B), __main__ (the run
and its table).
"""
