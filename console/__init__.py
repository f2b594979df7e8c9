"""The Dr.Gero Console: a web admin console for a team's fine-tuned models on Dr.Gero."""
