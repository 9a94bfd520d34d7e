"""TinyStudio's API process: the web service, its domain folders and the command line."""
