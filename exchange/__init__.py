"""CAREC cross-border e-logistics document exchange."""
__version__ = "0.1.0"
