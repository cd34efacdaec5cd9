"""Operator tooling for bedrock-rft: the demo summary now; rehearse, status, invoke and stop later."""
