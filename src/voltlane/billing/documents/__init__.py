"""Invoice documents: one model, rendered as PDF and as an EN 16931 UBL 2.1 e-invoice."""
