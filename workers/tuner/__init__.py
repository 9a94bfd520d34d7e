"""The tuner's worker side: the impulse search space (space.py) and measured figures (measure.py).

Plain functions, no Optuna import: a trial is anything with Optuna's suggest_* methods.
"""
