"""`recode demo`: watch rule-based RL teach a tiny model, on a CPU, to apply the update notes it is given.

Stages (each its own module): `synthetic` (seeded made-up API updates in the ReCode format, split so
held-out updates share no rule with training), `tokenizer` (BPE fitted to that corpus), `config`
(sizes, mapped onto `recode.training` configs), `evaluate` (greedy pass@1 by execution in the sandbox
and by exact match), `plots`, and `pipeline.run_demo`, which chains them. Nothing is downloaded.
"""
