"""TinyStudio pipeline workers: plain functions over arrays and bytes."""
