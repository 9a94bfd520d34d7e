"""The TinyStudio serial firmware: build it for a board, run it in QEMU, profile a model on it."""
