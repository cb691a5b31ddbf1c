"""Keep Canvas in step with Cerebrum, SAP and FS (the UiO design's "canvas-ms")."""
