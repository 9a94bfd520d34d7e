"""The tuner: searches impulses that fit a board's budgets, scored with measured device figures."""
