"""Risk warnings: templates (content/warnings.yaml), the CAP 1.2 parser and feed poller, and
the publishing / acknowledgement logic used by handlers.warning."""
