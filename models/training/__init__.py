"""Training NExT-GPT: data in its own formats, the three stages, the accelerate trainer."""
