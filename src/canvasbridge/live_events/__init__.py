"""Canvas Live Events (IMS Caliper 1.1) → Salesforce records (the Ambition design)."""
