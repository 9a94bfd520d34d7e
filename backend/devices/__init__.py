"""Devices: boards that stream data into a project, such as the serial data forwarder."""
