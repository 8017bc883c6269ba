"""itb-triage: offline, rules-based triage for runners with pain on the outside of the knee, thigh or hip."""

__version__ = "0.1.0"
