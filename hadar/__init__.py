"""Hadar: the AI CRM that Dubai real-estate agencies run their pipeline on."""

__version__ = "0.1.0"
