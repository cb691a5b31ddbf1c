"""One client per external system: FS, SAP, Cerebrum (own, on httpx), Canvas, Salesforce."""
