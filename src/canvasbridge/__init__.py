"""canvasbridge: keeps Canvas in step with source systems, and Canvas activity in Salesforce.

Packages, from the bottom up: ``errors`` and ``secrets`` (shared by all), ``engine`` (the
generic message -> task engine) and ``clients`` (one per external system), then the two
flows ``provisioning`` and ``live_events``, the ``emulators`` that stand in for the
external systems, and ``cli`` on top.
"""

__version__ = "0.1.0"
