"""Command-line front-ends: each turns its inputs into a request and prints the reply."""
